package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import org.apiguardian.api.API;

/**
 * The suite against a backend found on the path: the one named by {@value BackendConformance#BACKEND}
 * (a configuration parameter or system property, e.g. {@code -Dnibble.tck.backend=cuda:0}), else
 * the one {@link Backends#open()} selects.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public class SelectedBackendConformance extends BackendConformance {
    /** Created by JUnit. */
    public SelectedBackendConformance() {
    }

    @Override
    protected KernelBackend openBackend() {
        return Backends.open(configuration(BACKEND).filter(s -> !s.isBlank()).orElse(null));
    }
}
