package dev.nibble.methods.tfmq;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.PlanSimulator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * TFMQ-DM (Huang et al., CVPR 2024; TPAMI 2025): static activation quantization with finite-set
 * calibration — one (scale, zero point) per sampling step per layer, each from the activations
 * captured at that step with an Lp-optimal range search — and, for the temporal information block
 * (timestep MLP and adaLN modulation), a per-layer choice between that per-step calibration and an
 * offline cache of the layer's outputs per (step, class), whichever leaves the smaller error on the
 * calibration data. Weights: affine per output channel, clip ratio from an Lp (p = 2.4) search.
 */
public final class TfmqMethod extends MethodBase {
    static final String P = "p";
    static final String GRID = "grid";
    static final String TABLES = "step-tables";
    static final String TEMPORAL = "temporal";
    static final String CACHE_BITS = "cache-bits";
    static final String STEPS = "steps";
    static final String CALIB_ROWS = "calib-rows";

    @Override
    public String id() {
        return "tfmq";
    }

    @Override
    public String description() {
        return "TFMQ-DM (CVPR 2024): per-timestep static activation tables (finite-set calibration), "
                + "temporal block calibrated or cached per (step, class)";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.allOf(Precision.class);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return options.precision().quantizesActivations()
                ? EnumSet.of(Requirement.CALIBRATION_ACTIVATIONS, Requirement.PER_TIMESTEP_CALIBRATION)
                : Set.of();
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(
                new OptionSpec(P, "2.4", "exponent of the Lp error minimized by the range searches"),
                new OptionSpec(GRID, "100", "clip-ratio candidates in [0.2, 1] of the range searches"),
                new OptionSpec(TABLES, "all", "layers with one activation entry per step: 'all', or 'temporal' "
                        + "(other layers get one entry for every step)"),
                new OptionSpec(TEMPORAL, "auto", "temporal block layers: 'auto' (smaller error wins), 'calibrate' "
                        + "(per-step tables) or 'cache' (offline output cache per (step, class))"),
                new OptionSpec(CACHE_BITS, "8", "bits of the cached temporal outputs (4 or 8, one scale per row)"),
                new OptionSpec(STEPS, "0", "sampling steps S of the tables; 0 = 1 + the largest calibrated step"),
                new OptionSpec(CALIB_ROWS, "512", "calibration rows per step used for the ranges and errors"));
    }

    @Override
    protected String defaultScope() {
        return "blocks,temporal";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        doubleOption(options, P, 1, 8);
        intOption(options, GRID, 1, 10_000);
        choiceOption(options, TABLES, "all", "temporal");
        choiceOption(options, TEMPORAL, "auto", "calibrate", "cache");
        int cb = intOption(options, CACHE_BITS, 4, 8);
        if (cb != 4 && cb != 8) {
            throw new InvalidInputException("method 'tfmq': option '" + CACHE_BITS + "' must be 4 or 8, got " + cb);
        }
        intOption(options, STEPS, 0, 1 << 20);
        intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE);
    }

    /**
     * @param bits activation bits
     * @return static unsigned affine per-tensor codes (one scale and zero point per table entry)
     */
    static QuantScheme activationScheme(int bits) {
        return new QuantScheme(QuantScheme.Format.INT, bits, false, false, Granularity.PER_TENSOR, 0, false, 1f, false);
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        Precision p = options.precision();
        double lp = doubleOption(options, P, 1, 8);
        int grid = intOption(options, GRID, 1, 10_000);
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        float[] w = layer.weight().toFloatArray();
        QuantScheme ws = QuantScheme.affine(p.weightBits(), Granularity.PER_CHANNEL, 0).asStatic();
        float clip = LpRangeSearch.bestClip(w, n, k, ws, lp, grid);
        QuantizedLinear.Builder b = planFor(layer, options)
                .weight(quantizeWeight(w, n, k, ws.withClipRatio(clip)))
                .meta("tfmq.weight-clip", String.format(Locale.ROOT, "%.3f", clip));
        Map<Integer, CalibrationRows.Rows> byStep = null;
        if (p.quantizesActivations()) {
            var lc = CalibrationRows.require(layer, calibration, id());
            byStep = CalibrationRows.byStep(lc, intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE));
            boolean perStep = layer.role().isTemporal() || choiceOption(options, TABLES, "all", "temporal").equals("all");
            b.activation(perStep ? stepTable(byStep, options, p.activationBits(), lp, grid)
                    : singleTable(byStep, p.activationBits(), lp, grid));
        }
        QuantizedLinear calibrated = b.build();
        if (!layer.role().isTemporal()) {
            return calibrated;
        }
        String mode = choiceOption(options, TEMPORAL, "auto", "calibrate", "cache");
        if (mode.equals("calibrate")) {
            return calibrated.toBuilder().meta(TemporalCache.MODE_KEY, "calibrate").build();
        }
        int cacheBits = intOption(options, CACHE_BITS, 4, 8);
        if (byStep == null) {
            byStep = CalibrationRows.find(layer, calibration)
                    .map(c -> CalibrationRows.byStep(c, intOption(options, CALIB_ROWS, 1, Integer.MAX_VALUE))).orElse(null);
        }
        if (byStep == null) {
            if (mode.equals("cache")) {
                return cachePlan(layer, options, cacheBits, Double.NaN, Double.NaN);
            }
            return calibrated.toBuilder().meta(TemporalCache.MODE_KEY, "calibrate")
                    .meta("tfmq.choice", "no calibration data to measure the cache against").build();
        }
        double[] errs = temporalErrors(layer, calibrated, byStep, cacheBits);
        if (mode.equals("cache") || errs[1] < errs[0]) {
            return cachePlan(layer, options, cacheBits, errs[0], errs[1]);
        }
        return calibrated.toBuilder().meta(TemporalCache.MODE_KEY, "calibrate")
                .meta("tfmq.calibrated.sqnr-db", db(errs[0])).meta("tfmq.cache.sqnr-db", db(errs[1])).build();
    }

    private static String db(double nmse) {
        return Double.isNaN(nmse) ? "n/a" : String.format(Locale.ROOT, "%.2f", -10 * Math.log10(nmse));
    }

    /**
     * @return {@code {nmse of the calibrated plan, nmse of the cache}} over every calibrated step
     */
    static double[] temporalErrors(LinearLayer layer, QuantizedLinear calibrated, Map<Integer, CalibrationRows.Rows> byStep,
            int cacheBits) {
        PlanSimulator sim = new PlanSimulator(calibrated);
        double sig = 0;
        double eCal = 0;
        double eCache = 0;
        for (var e : byStep.entrySet()) {
            CalibrationRows.Rows r = e.getValue();
            float[] ref = PlanSimulator.reference(layer, r.x(), r.rows());
            sig += Mat.energy(ref);
            eCal += Mat.sqDist(ref, sim.forward(r.x(), r.rows(), e.getKey()));
            eCache += Mat.sqDist(ref, TemporalCache.quantizeEntry(ref, r.rows(), layer.outFeatures(), cacheBits));
        }
        return new double[] {eCal / sig, eCache / sig};
    }

    private QuantizedLinear cachePlan(LinearLayer layer, MethodOptions options, int cacheBits, double eCal, double eCache) {
        return planFor(layer, options)
                .denseWeight(layer.weight().to(DType.F32))
                .activation(new ActivationQuant.None())
                .meta(TemporalCache.MODE_KEY, "cache")
                .meta(TemporalCache.BITS_KEY, Integer.toString(cacheBits))
                .meta("tfmq.cache.key", "step,class")
                .meta("tfmq.calibrated.sqnr-db", db(eCal))
                .meta("tfmq.cache.sqnr-db", db(eCache))
                .build();
    }

    private ActivationQuant.StaticTable stepTable(Map<Integer, CalibrationRows.Rows> byStep, MethodOptions options, int bits,
            double lp, int grid) {
        QuantScheme s = activationScheme(bits);
        int last = byStep.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        int steps = intOption(options, STEPS, 0, 1 << 20);
        if (steps == 0) {
            steps = last + 1;
        } else if (steps <= last) {
            throw new InvalidInputException("method 'tfmq': option '" + STEPS + "' is " + steps
                    + " but calibration has data for step " + last);
        }
        TreeMap<Integer, float[]> params = new TreeMap<>();
        byStep.forEach((step, rows) -> params.put(step, LpRangeSearch.staticParams(rows.x(), s, lp, grid)));
        float[] scales = new float[steps];
        int[] zeros = new int[steps];
        for (int t = 0; t < steps; t++) {
            // a step without data borrows the nearest calibrated step (the earlier one on a tie)
            Integer lo = params.floorKey(t);
            Integer hi = params.ceilingKey(t);
            int use = lo == null ? hi : hi == null ? lo : (t - lo <= hi - t ? lo : hi);
            scales[t] = params.get(use)[0];
            zeros[t] = (int) params.get(use)[1];
        }
        return new ActivationQuant.StaticTable(s, scales, zeros);
    }

    private static ActivationQuant.StaticTable singleTable(Map<Integer, CalibrationRows.Rows> byStep, int bits, double lp,
            int grid) {
        int total = byStep.values().stream().mapToInt(r -> r.x().length).sum();
        float[] all = new float[total];
        int off = 0;
        for (CalibrationRows.Rows r : byStep.values()) {
            System.arraycopy(r.x(), 0, all, off, r.x().length);
            off += r.x().length;
        }
        QuantScheme s = activationScheme(bits);
        float[] sz = LpRangeSearch.staticParams(all, s, lp, grid);
        return new ActivationQuant.StaticTable(s, new float[] {sz[0]}, new int[] {(int) sz[1]});
    }
}
