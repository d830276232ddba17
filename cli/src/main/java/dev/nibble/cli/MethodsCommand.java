package dev.nibble.cli;

import dev.nibble.api.method.Methods;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code nibble methods}: every discovered quantization method. */
@Command(name = "methods", mixinStandardHelpOptions = true, description = "List the quantization methods found on the path.")
final class MethodsCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        var all = Methods.available();
        if (all.isEmpty()) {
            out.println("no quantization methods found: add nibble-methods (or another method jar) to the module path");
            return 1;
        }
        for (var m : all) {
            out.printf("%-12s %s%n", m.id(), m.loaded() ? m.description() : "FAILED: " + m.description());
        }
        return 0;
    }
}
