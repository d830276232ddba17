package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/** Receives progress of long work (quantizing a model layer by layer, calibration, search). */
@API(status = STABLE, since = "0.1")
@FunctionalInterface
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = (done, total, message) -> { };

    /**
     * @param done units finished
     * @param total units in all
     * @param message what is being done now (e.g. the layer name)
     */
    void progress(long done, long total, String message);
}
