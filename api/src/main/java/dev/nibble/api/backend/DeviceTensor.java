package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import org.apiguardian.api.API;

/**
 * A tensor in a backend's memory (host memory for the CPU backend). Created and read through its
 * {@link KernelBackend}; valid until closed or until the backend closes.
 */
@API(status = STABLE, since = "0.1")
public interface DeviceTensor extends AutoCloseable {
    /** @return the element type */
    DType dtype();

    /** @return the logical shape */
    Shape shape();

    /** @return the id of the device that holds it */
    String deviceId();

    /** Releases the device memory; idempotent. */
    @Override
    void close();
}
