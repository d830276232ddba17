package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.nio.file.Path;
import org.apiguardian.api.API;

/**
 * An output file could not be written (directory not writable, disk full, file size limit, ...).
 * The message names the file and the cause; the file's previous content, if any, is unchanged and
 * no partial file is left under its name.
 */
@API(status = STABLE, since = "0.1")
public class OutputWriteException extends NibbleException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;

    /**
     * @param file the file that was being written
     * @param cause the underlying I/O error
     */
    public OutputWriteException(Path file, Throwable cause) {
        super("cannot write " + file + ": " + describe(cause) + " (the previous file, if any, is unchanged)", cause);
        this.file = file;
    }

    /** @return the file that was being written */
    public Path file() {
        return file;
    }

    private static String describe(Throwable cause) {
        String m = cause.getMessage();
        String kind = cause.getClass().getSimpleName();
        if (cause instanceof java.nio.file.AccessDeniedException || cause instanceof java.nio.file.FileSystemException fse
                && fse.getReason() != null && fse.getReason().contains("Read-only")) {
            return "the directory is not writable (" + kind + ": " + m + ")";
        }
        return m == null ? kind : kind + ": " + m;
    }
}
