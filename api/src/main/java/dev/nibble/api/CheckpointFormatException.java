package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.nio.file.Path;
import org.apiguardian.api.API;

/** A checkpoint file is malformed; the message names the file, the tensor (if any) and the problem. */
@API(status = STABLE, since = "0.1")
public class CheckpointFormatException extends NibbleException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String tensor;

    /**
     * @param file the file
     * @param tensor the tensor concerned, or null for the file as a whole
     * @param problem what is wrong
     */
    public CheckpointFormatException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ": tensor '" + tensor + "'") + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /** @return the tensor concerned, or null */
    public String tensor() {
        return tensor;
    }
}
