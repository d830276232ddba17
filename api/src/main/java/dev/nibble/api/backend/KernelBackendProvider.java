package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Map;
import org.apiguardian.api.API;

/**
 * The service a backend module provides ({@code provides KernelBackendProvider with …} in its
 * module-info, and a {@code META-INF/services} entry for the class path). Construction and
 * {@link #probe()} must be cheap and load native libraries lazily.
 */
@API(status = STABLE, since = "0.1")
public interface KernelBackendProvider {

    /** @return the provider id, the first part of its device ids: {@code cpu}, {@code opencl}, {@code cuda} */
    String id();

    /** @return a one-line description */
    String description();

    /** @return the rank in automatic selection: higher wins (cpu 10, opencl 20, cuda 30) */
    int priority();

    /**
     * Looks at the machine. Never throws: a failure is an unavailable probe with a reason and a remedy.
     *
     * @return what was found
     */
    BackendProbe probe();

    /**
     * Opens a device.
     *
     * @param device one of the devices of a successful {@link #probe()}
     * @param options backend-specific options (e.g. {@code threads=8}); unknown keys are ignored
     * @return an open backend, to be closed by the caller
     * @throws BackendUnavailableException if the device cannot be opened, with reason and remedy
     */
    KernelBackend open(DeviceInfo device, Map<String, String> options);
}
