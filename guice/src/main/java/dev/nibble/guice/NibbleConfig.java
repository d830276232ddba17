package dev.nibble.guice;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.backend.Capability;
import java.util.Map;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * What an application asks of Nibble.
 *
 * @param backend an explicit device or provider id ({@code cpu}, {@code cuda:0}), or null for the
 *     usual order: {@code -Dnibble.backend}, {@code NIBBLE_BACKEND}, then automatic
 * @param backendOptions options passed to the provider (e.g. {@code threads=8})
 * @param requiredCapabilities what the chosen device must offer
 */
@API(status = STABLE, since = "0.1")
public record NibbleConfig(String backend, Map<String, String> backendOptions, Set<Capability> requiredCapabilities) {
    /** Copies the collections; nulls become empty. */
    public NibbleConfig {
        backendOptions = backendOptions == null ? Map.of() : Map.copyOf(backendOptions);
        requiredCapabilities = requiredCapabilities == null ? Set.of() : Set.copyOf(requiredCapabilities);
    }

    /** @return automatic selection, default options */
    public static NibbleConfig defaults() {
        return new NibbleConfig(null, Map.of(), Set.of());
    }

    /**
     * @param backend a device or provider id
     * @return that backend, default options
     */
    public static NibbleConfig backend(String backend) {
        return new NibbleConfig(backend, Map.of(), Set.of());
    }
}
