package dev.nibble.cli;

import java.util.List;

/** Every subcommand of {@code nibble}, one per line, so that adding one touches one line. */
final class Subcommands {
    private Subcommands() {
    }

    static List<Object> all() {
        return List.of(
                new BackendsCommand(),
                new MethodsCommand(),
                new ConformanceCommand(),
                new QualityCommand(),
                new QuantizeCommand(),
                new ForwardCommand(),
                new GenerateCommand(),
                new EvalCommand(),
                new DemoCommand(),
                new BenchCommand(),
                new OpCommand(),
                new picocli.CommandLine.HelpCommand());
    }
}
