package dev.nibble.model.eval;

import dev.nibble.api.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nibble.api.NibbleException;
import dev.nibble.api.Precision;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.model.calibration.Calibrator;
import dev.nibble.model.checkpoint.ModelQuantizer;
import dev.nibble.model.diffusion.DdimSampler;
import dev.nibble.model.diffusion.DdpmSchedule;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.image.ImageGrid;
import dev.nibble.model.metrics.DigitClassifier;
import dev.nibble.model.metrics.FrechetDistance;
import dev.nibble.model.metrics.ImageMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Compares quantized variants of a DiT with its full-precision self, as the papers do in miniature:
 * every variant samples from the same noise and labels as the full-precision model; PSNR and SSIM
 * measure how close each image stays, the classifier's accuracy whether the digit is still right,
 * the Fréchet distance on the classifier's features how far the distribution moved (against real
 * digits when given, else against the full-precision samples), plus size and time per sampling step.
 */
public final class Evaluation {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluation() {
    }

    /**
     * @param classes the labels to sample
     * @param perClass images per label
     * @param steps DDIM steps
     * @param cfg guidance scale
     * @param seed noise seed
     * @param batch images per forward batch
     * @param calibSamples images generated for calibration (methods that need it)
     * @param calibRows rows kept per (layer, step)
     */
    public record Settings(int[] classes, int perClass, int steps, double cfg, long seed, int batch, int calibSamples,
            int calibRows) {
        /** @return images per variant */
        public int images() {
            return classes.length * perClass;
        }
    }

    /**
     * One variant to evaluate.
     *
     * @param methodId the method id
     * @param precision the precision
     * @param options method options
     */
    public record Variant(String methodId, Precision precision, Map<String, String> options) {
        /** @return a name for files and tables, e.g. {@code convrot-w4a4} */
        public String name() {
            return methodId + "-" + precision.name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One row of results.
     *
     * @param name {@code fp32} or the variant name
     * @param method method id (or {@code fp})
     * @param precision precision (or {@code fp32})
     * @param status {@code ok}, or why the variant did not run
     * @param psnr mean PSNR vs the full-precision samples, dB
     * @param ssim mean SSIM vs the full-precision samples
     * @param accuracy classifier accuracy on the sampled labels (NaN without a classifier)
     * @param fd Fréchet distance on classifier features (NaN without a classifier)
     * @param bytes model size in bytes
     * @param msPerStep wall time of one sampling step of one batch
     * @param grid the PNG grid of its samples, or null
     */
    public record Row(String name, String method, String precision, String status, double psnr, double ssim,
            double accuracy, double fd, long bytes, double msPerStep, Path grid) {
    }

    /**
     * @param rows every row, the full-precision one first
     * @param fdReference what the Fréchet distance compares against
     * @param backend the backend id
     * @param settings the settings
     * @param report the report.md path
     */
    public record Result(List<Row> rows, String fdReference, String backend, Settings settings, Path report) {
    }

    private record Samples(Tensor images, double msPerStep) {
    }

    /**
     * Runs the whole evaluation and writes report.md, results.json and a grid per row into outDir.
     *
     * @param fp the full-precision model
     * @param backend the backend
     * @param methods resolves a method id (throws for unknown ids)
     * @param variants the variants
     * @param s settings
     * @param classifier the digit classifier, or null
     * @param realImages real images {@code [n, C, H, W]} for the Fréchet reference, or null
     * @param outDir where to write
     * @param progress told about each phase
     * @return the rows
     */
    public static Result run(DitModel fp, KernelBackend backend, Function<String, QuantMethod> methods, List<Variant> variants,
            Settings s, DigitClassifier classifier, Tensor realImages, Path outDir, ProgressListener progress) {
        DitConfig c = fp.config();
        for (int cl : s.classes()) {
            if (cl < 0 || cl >= c.numClasses()) {
                throw new dev.nibble.api.InvalidInputException("class " + cl + " outside [0, " + (c.numClasses() - 1) + "]");
            }
        }
        List<QuantMethod> resolved = new ArrayList<>();
        for (Variant v : variants) {
            resolved.add(methods.apply(v.methodId())); // unknown ids fail before any work
        }
        long[] labels = new long[s.images()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = s.classes()[i / s.perClass()];
        }
        DdimSampler sampler = new DdimSampler(DdpmSchedule.linear1000(), s.steps(), s.cfg(), c.numClasses(), true);
        long work = (long) (variants.size() + 1) * s.images() * s.steps();
        long[] done = {0};
        List<Row> rows = new ArrayList<>();
        Samples ref;
        Calibration calibration = null;
        // every phase names itself before it starts, so a slow or stuck one shows in the progress line
        progress.progress(0, work, "preparing fp32 on " + backend.id());
        try (DitRunner fpRun = new DitRunner(backend, fp)) {
            ref = sample(fpRun, sampler, labels, s, "fp32", done, work, progress);
            double[][] refFeatures = null;
            String fdRef = "none (no classifier)";
            if (classifier != null) {
                if (realImages != null) {
                    refFeatures = classifier.features(realImages);
                    fdRef = "real digits (" + refFeatures.length + ")";
                } else {
                    refFeatures = classifier.features(ref.images());
                    fdRef = "full-precision samples";
                }
            }
            rows.add(row("fp32", "fp", "fp32", "ok", ref, ref, fp.byteSize(), labels, classifier, refFeatures, outDir));
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                QuantMethod m = resolved.get(i);
                MethodOptions opts = MethodOptions.of(v.precision(), v.options());
                String why = unsupported(m, opts);
                if (why != null) {
                    rows.add(new Row(v.name(), v.methodId(), v.precision().name().toLowerCase(Locale.ROOT), why,
                            Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, Double.NaN, null));
                    done[0] += (long) s.images() * s.steps();
                    continue;
                }
                if (!m.requirements(opts).isEmpty() && calibration == null) {
                    progress.progress(done[0], work, "calibrating on " + s.calibSamples() + " samples");
                    calibration = Calibrator.run(fpRun, sampler, s.calibSamples(), s.batch(), s.calibRows(), s.seed() + 7919, null);
                }
                progress.progress(done[0], work, "quantizing " + v.name());
                DitModel q = ModelQuantizer.quantize(fp, m, opts, m.requirements(opts).isEmpty() ? Calibration.none() : calibration,
                        ProgressListener.NONE);
                try (DitRunner qr = new DitRunner(backend, q)) {
                    Samples got = sample(qr, sampler, labels, s, v.name(), done, work, progress);
                    rows.add(row(v.name(), v.methodId(), v.precision().name().toLowerCase(Locale.ROOT), "ok", got, ref, q.byteSize(),
                            labels, classifier, refFeatures, outDir));
                }
            }
            Path report = writeReports(outDir, rows, fdRef, backend.id(), s, fp);
            return new Result(rows, fdRef, backend.id(), s, report);
        }
    }

    private static String unsupported(QuantMethod m, MethodOptions opts) {
        try {
            opts.validateFor(m);
            return null;
        } catch (NibbleException e) {
            return "skipped: " + e.getMessage();
        }
    }

    private static Samples sample(DitRunner run, DdimSampler sampler, long[] labels, Settings s, String what, long[] done,
            long work, ProgressListener progress) {
        DitConfig c = run.model().config();
        int size = c.inChannels() * c.inputSize() * c.inputSize();
        float[] all = new float[labels.length * size];
        long nanos = 0;
        int batches = 0;
        for (int from = 0; from < labels.length; from += s.batch()) {
            int b = Math.min(s.batch(), labels.length - from);
            long[] lb = java.util.Arrays.copyOfRange(labels, from, from + b);
            long base = done[0];
            progress.progress(base, work, "sampling " + what);
            long t0 = System.nanoTime();
            Tensor out = sampler.sample(run::forward, lb, s.seed(), from, c.inChannels(), c.inputSize(),
                    step -> progress.progress(base + (long) step * b, work, "sampling " + what));
            nanos += System.nanoTime() - t0;
            batches++;
            done[0] = base + (long) s.steps() * b;
            System.arraycopy(out.toFloatArray(), 0, all, from * size, b * size);
        }
        return new Samples(Tensor.ofFloats(all, labels.length, c.inChannels(), c.inputSize(), c.inputSize()),
                nanos / 1e6 / (batches * (double) s.steps()));
    }

    private static Row row(String name, String method, String precision, String status, Samples got, Samples ref, long bytes,
            long[] labels, DigitClassifier classifier, double[][] refFeatures, Path outDir) {
        float[] a = got.images().toFloatArray();
        float[] b = ref.images().toFloatArray();
        long[] d = got.images().shape().dims();
        int ch = (int) d[1];
        int h = (int) d[2];
        int size = ch * h * h;
        double psnr = 0;
        double ssim = 0;
        int finite = 0;
        for (int i = 0; i < labels.length; i++) {
            float[] x = java.util.Arrays.copyOfRange(a, i * size, (i + 1) * size);
            float[] y = java.util.Arrays.copyOfRange(b, i * size, (i + 1) * size);
            double p = ImageMetrics.psnr(x, y);
            if (Double.isFinite(p)) {
                psnr += p;
                finite++;
            }
            ssim += ImageMetrics.ssim(x, y, ch, h, h);
        }
        double acc = Double.NaN;
        double fd = Double.NaN;
        if (classifier != null && classifier.inputSize() == size) {
            acc = classifier.accuracy(got.images(), labels);
            fd = FrechetDistance.between(classifier.features(got.images()), refFeatures);
        }
        Path grid = outDir.resolve(name + ".png");
        int cols = labels.length / Math.max(1, (int) java.util.Arrays.stream(labels).distinct().count());
        ImageGrid.write(got.images(), Math.max(1, Math.min(cols, 16)), 3, grid);
        return new Row(name, method, precision, status, finite == 0 ? Double.POSITIVE_INFINITY : psnr / finite,
                ssim / labels.length, acc, fd, bytes, got.msPerStep(), grid);
    }

    /**
     * @param rows the rows
     * @return the Markdown table
     */
    public static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| variant | PSNR dB | SSIM | accuracy | FD | size KiB | ms/step | status |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", r.name(), fmt(r.psnr(), 2),
                    fmt(r.ssim(), 4), fmt(r.accuracy(), 3), fmt(r.fd(), 3), r.bytes() == 0 ? "-" : String.format(Locale.ROOT,
                            "%.1f", r.bytes() / 1024.0), fmt(r.msPerStep(), 2), r.status()));
        }
        return b.toString();
    }

    private static String fmt(double v, int digits) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (Double.isInfinite(v)) {
            return "inf";
        }
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    private static Path writeReports(Path outDir, List<Row> rows, String fdRef, String backend, Settings s, DitModel fp) {
        StringBuilder md = new StringBuilder();
        md.append("# Nibble evaluation\n\n");
        md.append(String.format(Locale.ROOT, "model: %s (%s)%n%n", fp.source() == null ? "(in memory)" : fp.source().getFileName(),
                fp.config().toJson()));
        md.append(String.format(Locale.ROOT, "backend: %s; %d images (%d per class), DDIM %d steps, cfg %.2f, seed %d, batch %d; "
                + "Fréchet reference: %s; date %s%n%n", backend, s.images(), s.perClass(), s.steps(), s.cfg(), s.seed(), s.batch(),
                fdRef, java.time.Instant.now()));
        md.append("PSNR and SSIM compare each image with the full-precision image from the same noise and label.\n\n");
        md.append(table(rows)).append('\n');
        for (Row r : rows) {
            if (r.grid() != null) {
                md.append("![").append(r.name()).append("](").append(r.grid().getFileName()).append(")\n");
            }
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("backend", backend).put("images", s.images()).put("steps", s.steps()).put("cfg", s.cfg())
                .put("seed", s.seed()).put("fd_reference", fdRef).put("model_config", fp.config().toJson());
        ArrayNode arr = root.putArray("rows");
        for (Row r : rows) {
            ObjectNode o = arr.addObject();
            o.put("name", r.name()).put("method", r.method()).put("precision", r.precision()).put("status", r.status());
            num(o, "psnr_db", r.psnr());
            num(o, "ssim", r.ssim());
            num(o, "accuracy", r.accuracy());
            num(o, "frechet_distance", r.fd());
            o.put("bytes", r.bytes());
            num(o, "ms_per_step", r.msPerStep());
            o.put("grid", r.grid() == null ? null : r.grid().getFileName().toString());
        }
        try {
            Files.createDirectories(outDir);
            write(outDir.resolve("results.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            Path report = outDir.resolve("report.md");
            write(report, md.toString());
            return report;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report into " + outDir + ": " + e.getMessage(), e);
        }
    }

    private static void num(ObjectNode o, String k, double v) {
        if (Double.isFinite(v)) {
            o.put(k, v);
        } else {
            o.putNull(k);
        }
    }

    private static void write(Path p, String text) {
        AtomicFiles.writeString(p, text);
    }
}
