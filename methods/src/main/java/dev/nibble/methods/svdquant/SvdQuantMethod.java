package dev.nibble.methods.svdquant;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.methods.baseline.SmoothQuantMethod;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.PlanSimulator;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * SVDQuant (Li et al., ICLR 2025, arXiv 2411.05007): smoothing {@code s_j = max|X_j|^a / max|W_j|^b}
 * with (a, b) searched per layer by the layer-output error, then a 16-bit rank-r branch from an
 * SVD of the smoothed weight (refined iteratively) and the residual in INT4, symmetric, group 64,
 * [-7, 7]; activations dynamic per (token, 64-group). qkv is one fused layer here, so q, k and v
 * share one smoothing vector by construction, as in the paper.
 */
public final class SvdQuantMethod extends MethodBase {
    static final String RANK = "rank";
    static final String GROUP = "group-size";
    static final String SEARCH = "search";
    static final String ALPHA_STEP = "alpha-step";
    static final String ALPHA = "alpha";
    static final String BETA = "beta";
    static final String ITERS = "refine-iters";
    static final String SEARCH_ITERS = "search-refine-iters";
    static final String CALIB_ROWS = "calib-rows";
    static final String SHIFT = "shift-fc2";
    static final String ADALN = "adaln-precision";

    @Override
    public String id() {
        return "svdquant";
    }

    @Override
    public String description() {
        return "SVDQuant (arXiv 2411.05007): searched smoothing, 16-bit rank-32 SVD branch, INT4 g64 residual, "
                + "dynamic per-(token, 64) activations";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.allOf(Precision.class);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of(Requirement.CALIBRATION_ACTIVATIONS);
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(
                new OptionSpec(RANK, "32", "rank r of the 16-bit low-rank branch (0: none)"),
                new OptionSpec(GROUP, "64", "group size along K of the residual weights and the activations"),
                new OptionSpec(SEARCH, "true", "search (a, b) per layer over {(0,0)} ∪ {(a,0)} ∪ {(a,1-a)} by output error"),
                new OptionSpec(ALPHA_STEP, "0.05", "grid step of a in the search (a = step … 1 - step)"),
                new OptionSpec(ALPHA, "0.5", "a when search=false"),
                new OptionSpec(BETA, "0.5", "b when search=false"),
                new OptionSpec(ITERS, "10", "alternating SVD refinement iterations at most (early stop on rising error)"),
                new OptionSpec(SEARCH_ITERS, "1", "refinement iterations while scoring (a, b) candidates"),
                new OptionSpec(CALIB_ROWS, "256", "calibration rows per layer used to score candidates"),
                new OptionSpec(SHIFT, "false", "fc2 (input after GELU): add a per-channel shift making inputs "
                        + "non-negative and quantize them unsigned; the bias absorbs the shift"),
                new OptionSpec(ADALN, "w4a16", "precision of the adaLN modulation linears (in the default scope)"));
    }

    @Override
    protected String defaultScope() {
        return "blocks,adaln";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        intOption(options, RANK, 0, 4096);
        intOption(options, GROUP, 1, 1 << 20);
        boolOption(options, SEARCH);
        double step = doubleOption(options, ALPHA_STEP, 0.001, 0.5);
        if (step <= 0) {
            throw new dev.nibble.api.InvalidInputException("method 'svdquant': option '" + ALPHA_STEP + "' must be > 0");
        }
        doubleOption(options, ALPHA, 0, 1);
        doubleOption(options, BETA, 0, 1);
        intOption(options, ITERS, 0, 1000);
        intOption(options, SEARCH_ITERS, 0, 1000);
        intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
        boolOption(options, SHIFT);
        adalnPrecision(options);
    }

    private Precision adalnPrecision(MethodOptions options) {
        String v = options.getString(ADALN, defaultOf(ADALN));
        try {
            return Precision.parse(v);
        } catch (IllegalArgumentException e) {
            throw new dev.nibble.api.InvalidInputException("method 'svdquant': option '" + ADALN + "': " + e.getMessage());
        }
    }

    /**
     * @param step grid step of a
     * @return the candidates: (0,0), then (a, 0) and (a, 1 - a) for a = step … 1 - step
     */
    static List<double[]> candidates(double step) {
        List<double[]> out = new ArrayList<>();
        out.add(new double[] {0, 0});
        int n = (int) Math.round(1 / step);
        for (int i = 1; i < n; i++) {
            out.add(new double[] {i * step, 0});
        }
        for (int i = 1; i < n; i++) {
            out.add(new double[] {i * step, 1 - i * step});
        }
        return out;
    }

    @Override
    public List<QuantizedLinear> quantizeAll(List<LinearLayer> layers, Calibration calibration, MethodOptions options,
            ProgressListener progress) {
        check(options);
        List<QuantizedLinear> out = new ArrayList<>();
        int i = 0;
        for (LinearLayer l : layers) {
            if (quantizes(l, options)) {
                out.add(quantize(l, calibration, options, progress, i, layers.size()));
            }
            progress.progress(++i, layers.size(), "svdquant: " + l.name());
        }
        return out;
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        return quantize(layer, calibration, options, ProgressListener.NONE, 0, 1);
    }

    private QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options,
            ProgressListener progress, int index, int total) {
        Precision p = layer.role() == LayerRole.ADALN_MODULATION
                ? adalnPrecision(options) : options.precision();
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        int rank = intOption(options, RANK, 0, 4096);
        int group = intOption(options, GROUP, 1, 1 << 20);
        QuantScheme wScheme = QuantScheme.symmetricGroup(p.weightBits(), group).withNarrowRange().asStatic();
        Optional<Calibration.LayerCalibration> lc = CalibrationRows.find(layer, calibration);
        if (lc.isEmpty() && p.quantizesActivations()) {
            lc = Optional.of(CalibrationRows.require(layer, calibration, id()));
        }
        float[] w = layer.weight().toFloatArray();
        CalibrationRows.Rows rows = lc.map(c -> CalibrationRows.all(c, intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE)))
                .orElse(null);
        float[] ref = rows == null ? null : PlanSimulator.reference(layer, rows.x(), rows.rows());
        float[] xMax = rows == null ? null : CalibrationRows.channelAbsMax(rows);
        boolean shift = boolOption(options, SHIFT) && layer.role() == LayerRole.MLP_FC2 && p.quantizesActivations();

        List<double[]> cands;
        if (xMax == null) {
            cands = List.<double[]>of(new double[] {0, 0}); // weight-only without data: no smoothing
        } else if (boolOption(options, SEARCH)) {
            cands = candidates(doubleOption(options, ALPHA_STEP, 0.001, 0.5));
        } else {
            cands = List.<double[]>of(new double[] {doubleOption(options, ALPHA, 0, 1), doubleOption(options, BETA, 0, 1)});
        }
        int searchIters = intOption(options, SEARCH_ITERS, 0, 1000);
        double bestErr = Double.POSITIVE_INFINITY;
        double[] best = cands.getFirst();
        if (cands.size() > 1) {
            for (int c = 0; c < cands.size(); c++) {
                double[] ab = cands.get(c);
                QuantizedLinear plan = build(layer, options, p, w, xMax, ab, rank, wScheme, searchIters, shift, rows, group);
                double e = Mat.nmse(ref, new PlanSimulator(plan).forward(rows.x(), rows.rows(), 0));
                if (e < bestErr) {
                    bestErr = e;
                    best = ab;
                }
                progress.progress(index, total, String.format(Locale.ROOT, "svdquant: %s (a=%.2f, b=%.2f) %d/%d",
                        layer.name(), ab[0], ab[1], c + 1, cands.size()));
            }
        }
        QuantizedLinear plan = build(layer, options, p, w, xMax, best, rank, wScheme,
                intOption(options, ITERS, 0, 1000), shift, rows, group);
        QuantizedLinear.Builder b = plan.toBuilder()
                .meta("svdquant.alpha", String.format(Locale.ROOT, "%.2f", best[0]))
                .meta("svdquant.beta", String.format(Locale.ROOT, "%.2f", best[1]))
                .meta("precision", p.name());
        if (ref != null) {
            double e = Mat.nmse(ref, new PlanSimulator(plan).forward(rows.x(), rows.rows(), 0));
            b.meta("svdquant.calib-sqnr-db", String.format(Locale.ROOT, "%.2f", -10 * Math.log10(e)));
        }
        return b.build();
    }

    private QuantizedLinear build(LinearLayer layer, MethodOptions options, Precision p, float[] w, float[] xMax,
            double[] ab, int rank, QuantScheme wScheme, int iters, boolean shift, CalibrationRows.Rows rows, int group) {
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        float[] s = null;
        float[] ws = w;
        if (xMax != null && !(ab[0] == 0 && ab[1] == 0)) {
            s = SmoothQuantMethod.smoothing(xMax, w, n, k, ab[0], ab[1]);
            ws = SmoothQuantMethod.scaleColumns(w, k, s);
        }
        LowRankResidual d = LowRankResidual.decompose(ws, n, k, rank, wScheme, iters);
        QuantizedLinear.Builder b = planFor(layer, options)
                .smooth(s == null ? null : Tensor.ofFloats(s, k))
                .weight(quantizeWeight(d.residual(), n, k, wScheme))
                .lowRank(d.lowRank())
                .meta("svdquant.refine-iterations", Integer.toString(d.iterations()));
        ActivationQuant act = new ActivationQuant.None();
        if (p.quantizesActivations()) {
            act = new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(p.activationBits(), group));
        }
        if (shift) {
            // shift_j = -min_j(x / s) over the calibration rows (≥ 0); y = (x/s + shift)·W_sᵀ + (b - W_s·shift)
            float[] sh = new float[k];
            float[] x = rows.x();
            for (int i = 0; i < x.length; i++) {
                int c = i % k;
                float v = s == null ? x[i] : x[i] / s[c];
                sh[c] = Math.max(sh[c], -v);
            }
            float[] bias = layer.bias() == null ? new float[n] : layer.bias().toFloatArray();
            for (int o = 0; o < n; o++) {
                double acc = 0;
                for (int c = 0; c < k; c++) {
                    acc += (double) ws[o * k + c] * sh[c];
                }
                bias[o] = (float) (bias[o] - acc);
            }
            b.shift(Tensor.ofFloats(sh, k)).bias(Tensor.ofFloats(bias, n));
            act = new ActivationQuant.Dynamic(new QuantScheme(QuantScheme.Format.INT, p.activationBits(), false, true,
                    Granularity.PER_GROUP, group, false, 1f, true));
            b.meta("svdquant.shift", "unsigned");
        }
        return b.activation(act).build();
    }
}
