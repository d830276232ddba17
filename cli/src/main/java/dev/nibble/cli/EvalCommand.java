package dev.nibble.cli;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.Methods;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.eval.Evaluation;
import dev.nibble.model.metrics.DigitClassifier;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble eval}: quantize with several methods and precisions, sample, and compare with full precision. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Quantize a DiT with each method at each precision, sample from the same noise as the full-precision "
                + "model, and report PSNR, SSIM, classifier accuracy, Fréchet distance, size and time per step "
                + "(report.md, results.json and a PNG grid per row in --out).")
final class EvalCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", description = "A full-precision DiT; default: the bundled demo (with its classifier and real digits).")
    Path model;

    @Option(names = "--methods", description = "Comma-separated method ids; default: every method found.")
    String methods;

    @Option(names = "--bits", defaultValue = "w4a4,w8a8", description = "Comma-separated precisions (default ${DEFAULT-VALUE}).")
    String bits;

    @Option(names = "--option", description = "Method option key=value for every method that declares it (repeatable).")
    List<String> options;

    @Option(names = "--out", required = true, description = "Directory for report.md, results.json and the grids.")
    Path out;

    @Option(names = "--classes", defaultValue = "0-9", description = "Classes (default ${DEFAULT-VALUE}).")
    String classes;

    @Option(names = "--per-class", defaultValue = "4", description = "Images per class (default ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--steps", defaultValue = "20", description = "DDIM steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--cfg", defaultValue = "1.5", description = "Guidance scale (default ${DEFAULT-VALUE}).")
    double cfg;

    @Option(names = "--seed", defaultValue = "1", description = "Noise seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch", defaultValue = "40", description = "Images per batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--calib-samples", defaultValue = "32", description = "Images generated for calibration (default ${DEFAULT-VALUE}).")
    int calibSamples;

    @Option(names = "--calib-rows", defaultValue = "256", description = "Input rows kept per layer and step (default ${DEFAULT-VALUE}).")
    int calibRows;

    @Option(names = "--classifier", description = "Classifier safetensors (MLP fc1/fc2); default: the demo's when --model is not given.")
    Path classifier;

    @Option(names = "--real", description = "Real images (tensor 'images' [n,C,H,W]) for the Fréchet reference; default: the demo's.")
    Path real;

    @Option(names = "--backend", description = "Backend id; default: automatic.")
    String backend;

    @Override
    public Integer call() {
        Settings s = settings(methods, bits, classes, perClass, steps, cfg, seed, batch, calibSamples, calibRows);
        CliSupport.output(out, "--out");
        Path m = model != null ? model : DemoFiles.dit();
        Path clf = classifier != null ? CliSupport.existing(classifier, "--classifier") : model == null ? DemoFiles.classifier() : null;
        Path realPath = real != null ? CliSupport.existing(real, "--real") : model == null ? DemoFiles.real() : null;
        Map<String, String> opts = CliSupport.options(options);
        return run(spec, m, s, opts, clf, realPath, out, backend);
    }

    record Settings(List<Evaluation.Variant> variants, Evaluation.Settings eval) {
    }

    static Settings settings(String methodCsv, String bitsCsv, String classes, int perClass, int steps, double cfg, long seed,
            int batch, int calibSamples, int calibRows) {
        int[] cls = CliSupport.classes(classes);
        CliSupport.positive(perClass, "--per-class");
        CliSupport.positive(steps, "--steps");
        CliSupport.positive(batch, "--batch");
        CliSupport.positive(calibSamples, "--calib-samples");
        CliSupport.positive(calibRows, "--calib-rows");
        if (steps > 1000) {
            throw new InvalidInputException("--steps must be at most 1000");
        }
        List<String> ids = methodCsv == null ? Methods.available().stream().filter(Methods.MethodStatus::loaded)
                .map(Methods.MethodStatus::id).toList() : CliSupport.list(methodCsv);
        if (ids.isEmpty()) {
            throw new InvalidInputException("no quantization methods found: add nibble-methods to the module path, or name --methods");
        }
        for (String id : ids) {
            Methods.get(id); // unknown ids fail here, before any work
        }
        List<Precision> precisions = CliSupport.list(bitsCsv).stream().map(Precision::parse).toList();
        List<Evaluation.Variant> variants = new ArrayList<>();
        for (String id : ids) {
            for (Precision p : precisions) {
                variants.add(new Evaluation.Variant(id, p, Map.of()));
            }
        }
        return new Settings(variants, new Evaluation.Settings(cls, perClass, steps, cfg, seed, batch, calibSamples, calibRows));
    }

    static int run(picocli.CommandLine.Model.CommandSpec spec, Path model, Settings s, Map<String, String> opts, Path clfPath,
            Path realPath, Path out, String backend) {
        PrintWriter o = spec.commandLine().getOut();
        DigitClassifier clf = clfPath == null ? null : DigitClassifier.load(clfPath);
        ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "eval");
        try (DitModel fp = DitModel.load(model); SafetensorsFile realFile = realPath == null ? null : SafetensorsFile.open(realPath)) {
            Tensor realImages = realFile == null ? null : realFile.tensor("images");
            List<Evaluation.Variant> variants = s.variants().stream().map(v -> new Evaluation.Variant(v.methodId(), v.precision(),
                    declared(v.methodId(), opts))).toList();
            Evaluation.Result r;
            long t0 = System.nanoTime();
            try (KernelBackend be = CliSupport.backend(backend)) {
                r = Evaluation.run(fp, be, Methods::get, variants, s.eval(), clf, realImages, out, bar);
            } finally {
                bar.done();
            }
            o.println(Evaluation.table(r.rows()));
            o.printf("backend %s, %d images x %d steps per row, %.1f s; Fréchet reference: %s%n", r.backend(),
                    s.eval().images(), s.eval().steps(), (System.nanoTime() - t0) / 1e9, r.fdReference());
            o.println("report: " + r.report().toAbsolutePath());
        }
        return 0;
    }

    /** Options given with --option that this method declares (so one list can serve several methods). */
    private static Map<String, String> declared(String id, Map<String, String> opts) {
        var specs = Methods.get(id).options();
        Map<String, String> m = new java.util.LinkedHashMap<>();
        opts.forEach((k, v) -> {
            if (specs.stream().anyMatch(sp -> sp.name().equals(k))) {
                m.put(k, v);
            }
        });
        return m;
    }
}
