package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Optional;
import org.apiguardian.api.API;

/**
 * One discovered backend provider and what its probe said. A provider that failed to load or whose
 * probe threw is listed with {@code probe().available() == false} and the reason.
 *
 * @param id the provider id (or its class name if it failed before telling its id)
 * @param providerClass the implementation class name
 * @param priority the provider's priority (0 if unknown)
 * @param probe the probe result
 * @param provider the provider instance, or null if it failed to load
 */
@API(status = STABLE, since = "0.1")
public record ProviderStatus(String id, String providerClass, int priority, BackendProbe probe,
        KernelBackendProvider provider) {

    /** @return true if the provider loaded and its probe found it usable */
    public boolean available() {
        return provider != null && probe.available();
    }

    /** @return the provider, if it loaded */
    public Optional<KernelBackendProvider> providerIfLoaded() {
        return Optional.ofNullable(provider);
    }
}
