package dev.nibble.cli;

import dev.nibble.api.method.Methods;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble demo}: every method at W4A4 and W8A8 on the bundled digits DiT. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Evaluate every method at W4A4 and W8A8 on the bundled digits DiT (a few minutes on 2 cores) and print the table.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", defaultValue = "nibble-demo", description = "Report directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--per-class", defaultValue = "2", description = "Images per class (default ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--steps", defaultValue = "10", description = "DDIM steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--backend", description = "Backend id; default: automatic (the CPU backend on a plain machine).")
    String backend;

    @Override
    public Integer call() {
        String all = String.join(",", Methods.available().stream().filter(Methods.MethodStatus::loaded)
                .map(Methods.MethodStatus::id).toList());
        EvalCommand.Settings s = EvalCommand.settings(all.isEmpty() ? null : all, "w4a4,w8a8", "0-9", perClass, steps, 1.5, 1, 40, 16, 64);
        CliSupport.output(out, "--out");
        spec.commandLine().getOut().println("nibble demo: " + s.variants().size() + " variants on the bundled digits DiT");
        return EvalCommand.run(spec, DemoFiles.dit(), s, Map.of(), DemoFiles.classifier(), DemoFiles.real(), out, backend);
    }
}
