package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * One device a provider can open.
 *
 * @param id the device id: {@code cpu}, {@code opencl:<platform>:<device>}, {@code cuda:<n>}
 * @param name a human name (CPU model, GPU name)
 * @param memoryBytes memory available to kernels, or -1 if unknown
 * @param capabilities what the device offers
 * @param properties further facts for reports (driver, compute capability, vector width)
 */
@API(status = STABLE, since = "0.1")
public record DeviceInfo(String id, String name, long memoryBytes, Set<Capability> capabilities,
        Map<String, String> properties) {
    /** Copies the collections. */
    public DeviceInfo {
        capabilities = Set.copyOf(capabilities);
        properties = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    /**
     * @param need a capability
     * @return true if one of this device's capabilities satisfies it
     */
    public boolean supports(Capability need) {
        return capabilities.stream().anyMatch(c -> c.satisfies(need));
    }
}
