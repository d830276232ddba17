package dev.nibble.methods.baseline;

import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.Schemes;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * SmoothQuant (Xiao et al., ICML 2023, arXiv 2211.10438): migrate activation outliers into the
 * weights with {@code s_j = max|X_j|^α / max|W_j|^(1-α)}. A DiT's layer norms have no affine part
 * to fold {@code 1/s} into, so the division runs online as the plan's {@code smooth} input transform.
 */
public final class SmoothQuantMethod extends MethodBase {
    static final String ALPHA = "alpha";
    static final String CALIB_ROWS = "calib-rows";

    @Override
    public String id() {
        return "smoothquant";
    }

    @Override
    public String description() {
        return "SmoothQuant (arXiv 2211.10438): per-channel smoothing s = max|X|^a / max|W|^(1-a), online divide";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.of(Precision.W4A4, Precision.W4A8, Precision.W8A8);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of(Requirement.CALIBRATION_ACTIVATIONS);
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(
                new OptionSpec(ALPHA, "0.5", "migration strength a in [0, 1]"),
                new OptionSpec(CALIB_ROWS, "4096", "calibration rows used for max|X_j| (evenly subsampled)"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        if (options.precision() == Precision.W4A16) {
            throw unsupported(options.precision(), "smoothing only helps activation quantization; use rtn or nf4 for weight-only");
        }
        doubleOption(options, ALPHA, 0, 1);
        intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
    }

    /**
     * @param xMax max |X_j| per input channel
     * @param w weight {@code [n, k]}
     * @param n rows
     * @param k width
     * @param alpha the exponent of the activation side
     * @param beta the exponent of the weight side
     * @return the smoothing divisor per channel (1 for channels without signal)
     */
    public static float[] smoothing(float[] xMax, float[] w, int n, int k, double alpha, double beta) {
        float[] wMax = new float[k];
        for (int i = 0; i < w.length; i++) {
            wMax[i % k] = Math.max(wMax[i % k], Math.abs(w[i]));
        }
        float[] s = new float[k];
        for (int j = 0; j < k; j++) {
            double xm = Math.max(xMax[j], 1e-5);
            double wm = Math.max(wMax[j], 1e-5);
            double v = Math.pow(xm, alpha) / Math.pow(wm, beta);
            s[j] = (float) Math.min(1e4, Math.max(1e-4, v));
        }
        return s;
    }

    /**
     * @param w weight {@code [n, k]}
     * @param k width
     * @param s smoothing divisors
     * @return {@code W·diag(s)}
     */
    public static float[] scaleColumns(float[] w, int k, float[] s) {
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = w[i] * s[i % k];
        }
        return out;
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        Precision p = options.precision();
        double alpha = doubleOption(options, ALPHA, 0, 1);
        var lc = CalibrationRows.require(layer, calibration, id());
        float[] xMax = CalibrationRows.channelAbsMax(CalibrationRows.all(lc, intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE)));
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        float[] w = layer.weight().toFloatArray();
        float[] s = smoothing(xMax, w, n, k, alpha, 1 - alpha);
        return planFor(layer, options)
                .smooth(Tensor.ofFloats(s, k))
                .weight(quantizeWeight(scaleColumns(w, k, s), n, k, Schemes.weightPerChannel(p.weightBits())))
                .activation(dynamicOrNone(p, Schemes.activationPerToken(p.activationBits())))
                .build();
    }
}
