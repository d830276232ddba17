package dev.nibble.cli;

import dev.nibble.methods.quality.QualityReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble quality}: regenerates the quality report (rotations and every method on synthetic DiT layers). */
@Command(name = "quality", mixinStandardHelpOptions = true,
        description = "Regenerate the quality report: rotations and every method on synthetic DiT-like layers (host simulation).")
final class QualityCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", defaultValue = "docs/quality.md", description = "markdown file to write (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = {"-q", "--quiet"}, description = "no progress lines on stderr")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        new QualityReport(quiet ? (d, t, m) -> { } : (d, t, m) -> {
            err.printf("[%d/%d] %s%n", d, t, m);
            err.flush();
        }).write(out);
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }
}
