package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apiguardian.api.API;

/**
 * What a provider found when it looked at this machine: whether it can run, why not and what to do
 * about it, its devices, and facts for bug reports.
 *
 * @param available true if {@link KernelBackendProvider#open} can succeed
 * @param reason why it is unavailable (or a note on a degraded mode), else empty
 * @param remedy what the user can do about it, else empty
 * @param devices the devices found (empty if unavailable)
 * @param details facts for reports: library versions, paths, vector width
 */
@API(status = STABLE, since = "0.1")
public record BackendProbe(boolean available, String reason, String remedy, List<DeviceInfo> devices,
        Map<String, String> details) {
    /** Copies the collections and replaces nulls with empty values. */
    public BackendProbe {
        reason = reason == null ? "" : reason;
        remedy = remedy == null ? "" : remedy;
        devices = List.copyOf(devices);
        details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /**
     * @param devices the devices found
     * @param details facts for reports
     * @return an available probe
     */
    public static BackendProbe available(List<DeviceInfo> devices, Map<String, String> details) {
        return new BackendProbe(true, "", "", devices, details);
    }

    /**
     * @param reason why it cannot run
     * @param remedy what to do about it
     * @param details facts for reports
     * @return an unavailable probe
     */
    public static BackendProbe unavailable(String reason, String remedy, Map<String, String> details) {
        return new BackendProbe(false, reason, remedy, List.of(), details);
    }
}
