package dev.nibble.cli;

import dev.nibble.api.io.AtomicFiles;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.Methods;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.methods.quality.QualityReport;
import dev.nibble.model.dit.DitModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nibble quality}: regenerates the quality report (rotations and every method on synthetic DiT
 * layers), or with {@code --demo-layers} appends/replaces its section 4: every method per layer on
 * the demo DiT's captured activations.
 */
@Command(name = "quality", mixinStandardHelpOptions = true,
        description = "Regenerate the quality report: rotations and every method on synthetic DiT-like layers (host simulation). "
                + "With --demo-layers: only write section 4, every method per linear layer on the demo DiT's captured activations "
                + "(run through the CPU backend), into --out, keeping sections 1-3.")
final class QualityCommand implements Callable<Integer> {
    /** The heading of the demo-layer section; everything from it to the next "## " is replaced on rerun. */
    static final String DEMO_HEADING = "## 4. Layer level on the demo DiT's captured activations";

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", defaultValue = "docs/quality.md", description = "markdown file to write (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = {"-q", "--quiet"}, description = "no progress lines on stderr")
    boolean quiet;

    @Option(names = "--demo-layers", description = "write only section 4 (layer level on a DiT's captured activations)")
    boolean demoLayers;

    @Option(names = "--model", description = "with --demo-layers: a full-precision DiT; default: the bundled demo")
    Path model;

    @Option(names = "--methods", description = "with --demo-layers: comma-separated method ids; default: every method found")
    String methods;

    @Option(names = "--steps", defaultValue = "10", description = "with --demo-layers: DDIM steps captured (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--samples", defaultValue = "20", description = "with --demo-layers: images per capture (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--rows", defaultValue = "64", description = "with --demo-layers: rows kept per layer and step (default ${DEFAULT-VALUE})")
    int rows;

    @Option(names = "--svd-alpha-step", defaultValue = "0.1",
            description = "with --demo-layers: SVDQuant's search grid step alpha-step (default ${DEFAULT-VALUE}; paper 0.05)")
    String svdAlphaStep;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (demoLayers) {
            return demo(err);
        }
        new QualityReport(quiet ? (d, t, m) -> { } : (d, t, m) -> {
            err.printf("[%d/%d] %s%n", d, t, m);
            err.flush();
        }).write(out);
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }

    private int demo(PrintWriter err) {
        CliSupport.positive(steps, "--steps");
        CliSupport.positive(samples, "--samples");
        CliSupport.positive(rows, "--rows");
        List<String> ids = methods == null ? Methods.available().stream().filter(Methods.MethodStatus::loaded)
                .map(Methods.MethodStatus::id).toList() : CliSupport.list(methods);
        List<QuantMethod> ms = ids.stream().map(Methods::get).toList();
        Path src = model != null ? CliSupport.existing(model, "--model") : DemoFiles.dit();
        var settings = new DemoLayerQuality.Settings(steps, samples, rows, 1, 2, 1.5);
        long t0 = System.nanoTime();
        List<DemoLayerQuality.Row> result;
        try (DitModel fp = DitModel.load(src); KernelBackend be = CliSupport.backend("cpu")) {
            result = new DemoLayerQuality(fp, be, settings, m -> {
                if (!quiet) {
                    err.printf("[%.0f s] %s%n", (System.nanoTime() - t0) / 1e9, m);
                    err.flush();
                }
            }).run(ms, Map.of("svdquant", Map.of("alpha-step", svdAlphaStep)));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        String section = section(result, settings, model == null ? "the bundled demo DiT" : src.getFileName().toString(), seconds);
        writeSection(out, section);
        spec.commandLine().getOut().print(DemoLayerQuality.table(result));
        spec.commandLine().getOut().println("wrote section 4 of " + out);
        return 0;
    }

    private String section(List<DemoLayerQuality.Row> rows, DemoLayerQuality.Settings s, String what, double seconds) {
        StringBuilder b = new StringBuilder();
        b.append(DEMO_HEADING).append("\n\n");
        b.append("Generated ").append(LocalDate.now(ZoneOffset.UTC)).append(" on ").append(machine())
                .append(String.format(java.util.Locale.ROOT, " in %.0f s", seconds)).append(" by\n`nibble quality --demo-layers --out ")
                .append(out).append(methods == null ? "" : " --methods " + methods).append("`");
        b.append(" (").append(what).append(").\n\n");
        b.append("Inputs of every linear layer are captured from the full-precision model while it samples with DDIM ")
                .append(s.steps()).append(" steps, guidance ").append(s.cfg()).append(", ").append(s.samples())
                .append(" images (at most ").append(s.rows()).append(" rows per layer and step): seed ").append(s.calibSeed())
                .append(" for calibration, seed ").append(s.evalSeed()).append(" held out for evaluation. Each method quantizes the ")
                .append("layers in its default scope with that calibration; the plan runs through the CPU backend ")
                .append("(prepare → forward, per step) on the held-out inputs and its output is compared with the full-precision ")
                .append("layer. SQNR = 10·log10(Σy² / Σ(y−ŷ)²); *mean* is the mean of per-layer dB, *pooled* sums signal and error ")
                .append("over all layers. SVDQuant's (a, b) search uses `alpha-step=").append(svdAlphaStep)
                .append("` (paper 0.05) to keep the run short; all other options are the methods' defaults. ")
                .append("Methods quantize different layer sets (their default scope: some also take the timestep/adaLN ")
                .append("layers, which are easy), so *layers* differs and the mean and pooled columns are not like for like; ")
                .append("the *shared layers* column averages only the layers every method quantized.\n\n");
        b.append(DemoLayerQuality.table(rows)).append('\n');
        return b.toString();
    }

    private static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the core count is still worth saying
        }
        return Runtime.getRuntime().availableProcessors() + " cores, " + cpu + ", Java " + Runtime.version().feature();
    }

    /** Replaces section 4 of the file (or appends it), atomically. */
    static void writeSection(Path file, String section) {
        try {
            Path abs = file.toAbsolutePath();
            String text = Files.isRegularFile(abs) ? Files.readString(abs, StandardCharsets.UTF_8) : "";
            int start = text.indexOf(DEMO_HEADING);
            String updated;
            if (start < 0) {
                updated = text.isEmpty() ? section : text.stripTrailing() + "\n\n" + section;
            } else {
                int next = text.indexOf("\n## ", start + DEMO_HEADING.length());
                updated = text.substring(0, start) + section + (next < 0 ? "" : "\n" + text.substring(next + 1));
            }
            AtomicFiles.writeString(abs, updated);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
