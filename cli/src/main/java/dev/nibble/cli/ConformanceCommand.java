package dev.nibble.cli;

import dev.nibble.conformance.ConformanceRunner;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble conformance [--backend ID]}: the conformance kit against one backend, through the JUnit Platform launcher. */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"Run the conformance kit against a backend: integer codes and accumulators bit-identical to the",
            "reference, floats within stated tolerances. Prints per-capability results and a last line",
            "'N passed, N failed, N skipped'; exit status 1 on any failure."})
final class ConformanceCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-b", "--backend"}, paramLabel = "ID",
            description = "Device or provider id (cpu, opencl:0:0, cuda:0). Default: -Dnibble.backend, NIBBLE_BACKEND, then automatic.")
    String backend;

    @Option(names = "--size", paramLabel = "small|full", defaultValue = "small",
            description = "Case sizes: small (default, about a minute on a CPU) or full (larger shapes).")
    String size;

    @Override
    public Integer call() {
        if (!size.equals("small") && !size.equals("full")) {
            throw new IllegalArgumentException("--size must be small or full, got '" + size + "'");
        }
        System.setProperty("nibble.tck.size", size);
        String id = backend;
        if (id == null) {
            // resolve here so the kit runs against exactly what a normal run would use, and bad requests fail early
            try (var b = dev.nibble.api.backend.Backends.open()) {
                id = b.id();
            }
        }
        return ConformanceRunner.run(id, spec.commandLine().getOut());
    }
}
