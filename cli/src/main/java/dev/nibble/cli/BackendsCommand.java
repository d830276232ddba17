package dev.nibble.cli;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.ProviderStatus;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble backends [-v]}: every backend provider, whether it can run here, why not, and its devices. */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List the kernel backends found on the path: status, reason, remedy, devices, capabilities.")
final class BackendsCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, description = "Also print the JDK, OS, CPU and what each provider found (libraries, versions).")
    boolean verbose;

    @Option(names = "--select", arity = "0..1", fallbackValue = "", paramLabel = "ID",
            description = "Resolve and open the backend a run would use: ID if given, else -Dnibble.backend, NIBBLE_BACKEND, then automatic.")
    String select;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (verbose) {
            out.println("JDK      : " + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version")
                    + " (" + System.getProperty("java.home") + ")");
            out.println("OS       : " + System.getProperty("os.name") + " " + System.getProperty("os.version")
                    + " " + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
            out.println("modules  : jdk.incubator.vector "
                    + (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? "present" : "absent"));
            String sel = System.getProperty(Backends.PROPERTY);
            String env = System.getenv(Backends.ENV);
            out.println("selection: -D" + Backends.PROPERTY + "=" + (sel == null ? "(unset)" : sel) + ", "
                    + Backends.ENV + "=" + (env == null ? "(unset)" : env));
            out.println();
        }
        if (select != null) {
            try (var backend = Backends.open(select.isEmpty() ? null : select)) {
                out.println("selected: " + backend.id() + " (" + backend.device().name() + ")");
            }
            return 0;
        }
        List<ProviderStatus> all = Backends.available();
        if (all.isEmpty()) {
            out.println("no backend providers found: add nibble-backend-cpu (or another backend jar) to the module path");
            return 1;
        }
        for (ProviderStatus p : all) {
            out.printf("%-8s %-12s priority %d  (%s)%n", p.id(), p.available() ? "available" : "UNAVAILABLE",
                    p.priority(), p.providerClass());
            if (!p.probe().reason().isEmpty()) {
                out.println("         reason: " + p.probe().reason());
            }
            if (!p.probe().remedy().isEmpty()) {
                out.println("         remedy: " + p.probe().remedy());
            }
            for (DeviceInfo d : p.probe().devices()) {
                out.printf("         device %s: %s%s%n", d.id(), d.name(),
                        d.memoryBytes() > 0 ? String.format(", %.1f GiB", d.memoryBytes() / (1024.0 * 1024 * 1024)) : "");
                out.println("           capabilities: " + d.capabilities().stream().map(Capability::describe).sorted()
                        .collect(Collectors.joining("; ")));
                if (verbose) {
                    d.properties().forEach((k, v) -> out.println("           " + k + ": " + v));
                }
            }
            if (verbose) {
                p.probe().details().forEach((k, v) -> out.println("         " + k + ": " + v));
            }
        }
        return 0;
    }
}
