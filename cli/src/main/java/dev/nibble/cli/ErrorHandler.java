package dev.nibble.cli;

import dev.nibble.api.NibbleException;
import picocli.CommandLine;

/** Turns Nibble's typed errors into one clear line on stderr and exit status 2; anything else is a bug and shows its trace. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        if (ex instanceof NibbleException || ex instanceof java.io.UncheckedIOException
                || ex instanceof java.nio.file.NoSuchFileException || ex instanceof IllegalArgumentException) {
            String msg = ex instanceof java.nio.file.NoSuchFileException nf ? "no such file: " + nf.getFile() : ex.getMessage();
            cl.getErr().println("nibble: " + msg);
            return Nibble.EXIT_BAD_INPUT;
        }
        ex.printStackTrace(cl.getErr());
        return 1;
    }
}
