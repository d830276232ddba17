package dev.nibble.methods.convrot;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.Schemes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * ConvRot (arXiv 2512.03673): a block-diagonal regular Hadamard rotation (blocks of N0, default
 * 256) folded into the weights; INT4 weights symmetric per output channel (scale = max|W·R| / 7),
 * dynamic per-token INT4 activations in [-8, 7]. Regular Hadamard blocks have equal row sums, so
 * a token-wide offset stays spread over the block instead of piling into one channel as with a
 * Sylvester Hadamard (growth √N0). Mixed precision keeps the fraction of layers with the largest
 * measured output error at INT8 (our rule; the paper's is unpublished — docs/methods/convrot.md).
 */
public final class ConvRotMethod extends MethodBase {
    static final String BLOCK = "block-size";
    static final String FIT = "fit-block";
    static final String INT8_FRACTION = "int8-fraction";
    static final String CALIB_ROWS = "calib-rows";

    @Override
    public String id() {
        return "convrot";
    }

    @Override
    public String description() {
        return "ConvRot (arXiv 2512.03673): grouped regular Hadamard rotation, INT4 per-channel weights, "
                + "dynamic per-token INT4 activations, ~20% layers INT8";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.allOf(Precision.class);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of();
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(
                new OptionSpec(BLOCK, "256", "N0, the regular Hadamard block: 4, 16, 64, 256 or 1024"),
                new OptionSpec(FIT, "true", "when K is not a multiple of N0, use the largest power-of-4 block below N0 "
                        + "that divides K instead of zero-padding K up to a multiple of N0"),
                new OptionSpec(INT8_FRACTION, "0.2", "fraction of the quantized layers kept at INT8 (mixed precision), "
                        + "chosen by the largest measured output error; 0 disables (quantizeAll only)"),
                new OptionSpec(CALIB_ROWS, "256", "calibration rows per layer used to measure the output error"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        int n0 = intOption(options, BLOCK, 4, 1024);
        try {
            new Rotation.RegularHadamard(n0);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("method 'convrot': option '" + BLOCK + "': " + e.getMessage());
        }
        boolOption(options, FIT);
        doubleOption(options, INT8_FRACTION, 0, 1);
        intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
    }

    /**
     * @param k the layer's K
     * @param n0 the requested block
     * @param fit whether to shrink the block to one dividing K
     * @return the rotation
     */
    static Rotation.RegularHadamard rotationFor(int k, int n0, boolean fit) {
        int b = n0;
        if (fit) {
            while (b > 4 && k % b != 0) {
                b /= 4;
            }
            if (k % b != 0) {
                b = n0; // nothing divides: zero-pad with the requested block
            }
        }
        return new Rotation.RegularHadamard(b);
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        return build(layer, options, options.precision().weightBits(), options.precision().activationBits());
    }

    private QuantizedLinear build(LinearLayer layer, MethodOptions options, int wBits, int aBits) {
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        Rotation.RegularHadamard r = rotationFor(k, intOption(options, BLOCK, 4, 1024), boolOption(options, FIT));
        int kp = r.outputDim(k);
        float[] wr = rotateWeight(layer.weight().toFloatArray(), n, k, r);
        QuantizedLinear.Builder b = planFor(layer, options)
                .rotation(r)
                .weight(quantizeWeight(wr, n, kp, Schemes.weightPerChannel(wBits)))
                .activation(aBits <= 8 ? new dev.nibble.api.ActivationQuant.Dynamic(Schemes.activationPerToken(aBits))
                        : new dev.nibble.api.ActivationQuant.None())
                .meta("convrot.weight-bits", Integer.toString(wBits))
                .meta("convrot.activation-bits", aBits <= 8 ? Integer.toString(aBits) : "16");
        return b.build();
    }

    /**
     * Quantizes every layer in scope at the requested precision, measures each layer's relative
     * output error, and re-quantizes the {@code int8-fraction} with the largest error at INT8
     * (weights, and activations when they are quantized).
     */
    @Override
    public List<QuantizedLinear> quantizeAll(List<LinearLayer> layers, Calibration calibration, MethodOptions options,
            ProgressListener progress) {
        check(options);
        Precision p = options.precision();
        double fraction = doubleOption(options, INT8_FRACTION, 0, 1);
        List<LinearLayer> inScope = layers.stream().filter(l -> quantizes(l, options)).toList();
        boolean mixed = fraction > 0 && p.weightBits() < 8 && !inScope.isEmpty();
        long total = inScope.size() * (mixed ? 2L : 1L);
        List<QuantizedLinear> plans = new ArrayList<>();
        for (int i = 0; i < inScope.size(); i++) {
            plans.add(build(inScope.get(i), options, p.weightBits(), p.activationBits()));
            progress.progress(i + 1, total, "convrot: " + inScope.get(i).name());
        }
        if (!mixed) {
            return plans;
        }
        // measure on calibration data only if every layer has it, so the errors are comparable
        boolean useCalib = inScope.stream().allMatch(l -> CalibrationRows.find(l, calibration).isPresent());
        int calibRows = intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
        double[] err = new double[inScope.size()];
        for (int i = 0; i < inScope.size(); i++) {
            err[i] = measuredError(inScope.get(i), plans.get(i), useCalib ? CalibrationRows.find(inScope.get(i), calibration)
                    : Optional.empty(), calibRows);
            progress.progress(inScope.size() + i + 1, total, "convrot: measuring " + inScope.get(i).name());
        }
        int keep = (int) Math.round(fraction * inScope.size());
        List<Integer> worst = IntStream.range(0, inScope.size()).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -err[i])).limit(keep).toList();
        String metric = useCalib ? "output-nmse" : "weight-nmse";
        for (int i = 0; i < inScope.size(); i++) {
            QuantizedLinear q = worst.contains(i)
                    ? build(inScope.get(i), options, 8, p.quantizesActivations() ? 8 : 16).toBuilder()
                            .meta("convrot.mixed", "int8").build()
                    : plans.get(i);
            plans.set(i, q.toBuilder().meta("convrot.error-metric", metric)
                    .meta("convrot.w4-error", String.format(Locale.ROOT, "%.6g", err[i])).build());
        }
        return plans;
    }

    /**
     * The selection metric: the plan's relative output error on calibration rows when available,
     * else the relative error of its dequantized rotated weight.
     */
    static double measuredError(LinearLayer layer, QuantizedLinear plan, Optional<dev.nibble.api.method.Calibration.LayerCalibration> lc,
            int maxRows) {
        PlanSimulator sim = new PlanSimulator(plan);
        if (lc.isPresent()) {
            CalibrationRows.Rows rows = CalibrationRows.all(lc.get(), maxRows);
            float[] ref = PlanSimulator.reference(layer, rows.x(), rows.rows());
            float[] y = sim.forward(rows.x(), rows.rows(), 0);
            return Mat.nmse(ref, y);
        }
        float[] wr = rotateWeight(layer.weight().toFloatArray(), layer.outFeatures(), layer.inFeatures(), plan.rotation());
        return Mat.nmse(wr, sim.effectiveWeight());
    }
}
