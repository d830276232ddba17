package dev.nibble.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code nibble} command: entry point and subcommand registry. */
@Command(name = "nibble", mixinStandardHelpOptions = true, version = "nibble 0.1.0-SNAPSHOT",
        description = "Low-bit quantization of diffusion transformers on the JVM.",
        subcommandsRepeatable = false)
public final class Nibble implements Runnable {
    /** Exit status for bad input (missing file, unknown method, bad option). */
    public static final int EXIT_BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * @param args command-line arguments
     * @return the command line, with every subcommand registered
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Nibble());
        for (Object sub : Subcommands.all()) {
            cl.addSubcommand(sub);
        }
        cl.setExecutionExceptionHandler(new ErrorHandler());
        return cl;
    }

    /**
     * Runs {@code nibble} and exits with its status.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
