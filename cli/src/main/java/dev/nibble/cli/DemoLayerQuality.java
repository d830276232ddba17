package dev.nibble.cli;

import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.model.calibration.Calibrator;
import dev.nibble.model.diffusion.DdimSampler;
import dev.nibble.model.diffusion.DdpmSchedule;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Layer-level output SQNR of every method on a DiT's own activations: calibration inputs and
 * held-out inputs (another seed) are captured from the full-precision model while it samples, each
 * linear layer in a method's scope is quantized with the calibration, its plan runs on a backend
 * ({@link PreparedLinear#forward}) on the held-out inputs, and the output is compared with the
 * full-precision layer (x·Wᵀ + b, computed on the host in double).
 */
final class DemoLayerQuality {
    /** Sampling and capture settings. */
    record Settings(int steps, int samples, int rows, long calibSeed, long evalSeed, double cfg) {
    }

    /** One table row. */
    record Row(String method, Precision precision, String error, int layers, double meanDb, double pooledDb, String worstLayer,
            double worstDb, Map<String, Double> perLayerDb) {
    }

    private final DitModel model;
    private final KernelBackend backend;
    private final Settings settings;
    private final Consumer<String> progress;

    DemoLayerQuality(DitModel model, KernelBackend backend, Settings settings, Consumer<String> progress) {
        this.model = model;
        this.backend = backend;
        this.settings = settings;
        this.progress = progress;
    }

    /** The precisions measured for a method: nf4 is weight-only, so it gets W4A16. */
    static List<Precision> precisionsFor(String methodId) {
        return "nf4".equals(methodId) ? List.of(Precision.W4A16) : List.of(Precision.W4A4, Precision.W4A8, Precision.W8A8);
    }

    /**
     * @param methods the methods, in table order
     * @param options per-method option overrides (e.g. SVDQuant's search), applied at every precision
     * @return one row per (method, precision)
     */
    List<Row> run(List<QuantMethod> methods, Map<String, Map<String, String>> options) {
        Calibration calib = capture(settings.calibSeed());
        Calibration held = capture(settings.evalSeed());
        List<LinearLayer> layers = model.linearLayers();
        List<Row> rows = new ArrayList<>();
        for (QuantMethod m : methods) {
            for (Precision p : precisionsFor(m.id())) {
                progress.accept(m.id() + " " + p.name());
                rows.add(measure(m, p, options.getOrDefault(m.id(), Map.of()), layers, calib, held));
            }
        }
        return rows;
    }

    private Calibration capture(long seed) {
        var c = model.config();
        try (DitRunner r = new DitRunner(backend, model)) {
            DdimSampler sampler = new DdimSampler(DdpmSchedule.linear1000(), settings.steps(), settings.cfg(), c.numClasses(), true);
            return Calibrator.run(r, sampler, settings.samples(), Math.min(16, settings.samples()), settings.rows(), seed, null);
        }
    }

    private Row measure(QuantMethod m, Precision p, Map<String, String> opts, List<LinearLayer> layers, Calibration calib,
            Calibration held) {
        List<QuantizedLinear> plans;
        try {
            if (!m.precisions().contains(p)) {
                return failed(m, p, m.id() + " does not support " + p.name());
            }
            MethodOptions o = MethodOptions.of(p, opts);
            plans = m.quantizeAll(layers, calib, o, ProgressListener.NONE);
        } catch (RuntimeException e) {
            return failed(m, p, e.getMessage());
        }
        double meanDb = 0;
        double sig = 0;
        double err = 0;
        String worst = null;
        Map<String, Double> per = new LinkedHashMap<>();
        double worstDb = Double.POSITIVE_INFINITY;
        int n = 0;
        for (QuantizedLinear plan : plans) {
            LinearLayer l = layers.stream().filter(x -> x.name().equals(plan.name())).findFirst().orElseThrow();
            var lc = held.layer(l.name());
            if (lc.isEmpty()) {
                continue; // never run while sampling (none in a DiT, but do not divide by zero)
            }
            double[] se = layerError(l, plan, lc.get(), held.steps());
            double db = 10 * Math.log10(se[0] / se[1]);
            meanDb += db;
            per.put(l.name(), db);
            sig += se[0];
            err += se[1];
            n++;
            if (db < worstDb) {
                worstDb = db;
                worst = l.name();
            }
        }
        if (n == 0) {
            return failed(m, p, "no layer quantized");
        }
        return new Row(m.id(), p, null, n, meanDb / n, 10 * Math.log10(sig / err), worst, worstDb, per);
    }

    private static Row failed(QuantMethod m, Precision p, String why) {
        return new Row(m.id(), p, why == null ? "failed" : why, 0, Double.NaN, Double.NaN, null, Double.NaN, Map.of());
    }

    /** @return {Σy², Σ(y−ŷ)²} of one layer over every held-out step */
    private double[] layerError(LinearLayer l, QuantizedLinear plan, Calibration.LayerCalibration inputs, List<Integer> steps) {
        float[] w = l.weight().toFloatArray();
        float[] b = l.bias() == null ? null : l.bias().toFloatArray();
        int k = l.inFeatures();
        int nOut = l.outFeatures();
        double sig = 0;
        double err = 0;
        try (PreparedLinear prepared = backend.prepare(plan)) {
            for (int step : steps) {
                var x = inputs.inputs(step);
                if (x.isEmpty()) {
                    continue;
                }
                float[] xs = x.get().toFloatArray();
                int rows = Math.toIntExact(x.get().shape().rows());
                DeviceTensor dx = backend.upload(x.get());
                DeviceTensor dy = prepared.forward(dx, step);
                float[] y = backend.download(dy).toFloatArray();
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < nOut; o++) {
                        double ref = b == null ? 0 : b[o];
                        for (int i = 0; i < k; i++) {
                            ref += (double) xs[r * k + i] * w[o * k + i];
                        }
                        double d = ref - y[r * nOut + o];
                        sig += ref * ref;
                        err += d * d;
                    }
                }
            }
        }
        return new double[] {sig, err};
    }

    /** @return the markdown table */
    static String table(List<Row> rows) {
        java.util.Set<String> shared = sharedLayers(rows);
        StringBuilder s = new StringBuilder();
        s.append("| method | precision | layers | mean SQNR (dB) | pooled SQNR (dB) | mean on the ").append(shared.size())
                .append(" shared layers (dB) | worst layer (dB) |\n");
        s.append("|---|---|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            String p = r.precision().name();
            if (r.error() != null) {
                s.append("| ").append(r.method()).append(" | ").append(p).append(" | — | — | — | ")
                        .append(" — | ").append(r.error().replace("|", "\\|").replace('\n', ' ')).append(" |\n");
            } else {
                s.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f | %.2f | %.2f | %s (%.2f) |%n", r.method(), p, r.layers(),
                        r.meanDb(), r.pooledDb(), sharedMean(r, shared), r.worstLayer(), r.worstDb()));
            }
        }
        return s.toString();
    }

    /** @return the layers every successful row measured (so methods with different scopes compare on equal terms) */
    static java.util.Set<String> sharedLayers(List<Row> rows) {
        java.util.Set<String> shared = null;
        for (Row r : rows) {
            if (r.error() == null) {
                if (shared == null) {
                    shared = new java.util.LinkedHashSet<>(r.perLayerDb().keySet());
                } else {
                    shared.retainAll(r.perLayerDb().keySet());
                }
            }
        }
        return shared == null ? java.util.Set.of() : shared;
    }

    /** @return the mean per-layer dB of a row over the shared layers */
    static double sharedMean(Row r, java.util.Set<String> shared) {
        return shared.stream().mapToDouble(r.perLayerDb()::get).average().orElse(Double.NaN);
    }
}
