package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;
import org.apiguardian.api.API;

/**
 * Discovers backend providers with {@link ServiceLoader} (module path and class path) and selects
 * one. Selection order: an explicit request, then the system property {@value #PROPERTY}, then the
 * environment variable {@value #ENV}, then automatic: the highest-priority available device with
 * every capability the caller needs. Automatic selection logs one line naming the choice and every
 * skipped backend with its reason. An explicit request that cannot be met throws with the reason
 * and remedy; nothing ever falls back silently.
 */
@API(status = STABLE, since = "0.1")
public final class Backends {
    /** System property naming the backend, e.g. {@code -Dnibble.backend=cuda:0}. */
    public static final String PROPERTY = "nibble.backend";
    /** Environment variable naming the backend. */
    public static final String ENV = "NIBBLE_BACKEND";

    private static final System.Logger LOG = System.getLogger("dev.nibble.backends");

    private Backends() {
    }

    /**
     * Every provider visible to Nibble's module (or the context class loader on the class path),
     * each probed; failures are listed, never thrown.
     *
     * @return the providers, highest priority first
     */
    public static List<ProviderStatus> available() {
        return probeAll(ServiceLoader.load(KernelBackendProvider.class));
    }

    /**
     * As {@link #available()}, for providers visible to a class loader.
     *
     * @param loader where to look
     * @return the providers, highest priority first
     */
    public static List<ProviderStatus> available(ClassLoader loader) {
        return probeAll(ServiceLoader.load(KernelBackendProvider.class, loader));
    }

    /**
     * As {@link #available()}, for providers in a module layer (and its parents).
     *
     * @param layer where to look
     * @return the providers, highest priority first
     */
    public static List<ProviderStatus> available(ModuleLayer layer) {
        return probeAll(ServiceLoader.load(layer, KernelBackendProvider.class));
    }

    static List<ProviderStatus> probeAll(ServiceLoader<KernelBackendProvider> loader) {
        List<ProviderStatus> out = new ArrayList<>();
        Iterator<ServiceLoader.Provider<KernelBackendProvider>> it;
        try {
            it = loader.stream().iterator();
        } catch (ServiceConfigurationError | LinkageError e) {
            out.add(failed("?", e));
            return out;
        }
        while (true) {
            ServiceLoader.Provider<KernelBackendProvider> p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError | LinkageError e) {
                out.add(failed(describeConfigError(e), e));
                continue;
            }
            out.add(probeOne(p));
        }
        out.sort(Comparator.comparingInt(ProviderStatus::priority).reversed()
                .thenComparing(ProviderStatus::id));
        return List.copyOf(out);
    }

    private static String describeConfigError(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int i = m.indexOf("Provider ");
        if (i >= 0) {
            String rest = m.substring(i + 9);
            int sp = rest.indexOf(' ');
            return sp > 0 ? rest.substring(0, sp) : rest;
        }
        return "?";
    }

    private static ProviderStatus probeOne(ServiceLoader.Provider<KernelBackendProvider> p) {
        String cls;
        try {
            cls = p.type().getName();
        } catch (Throwable e) {
            return failed("?", e);
        }
        KernelBackendProvider provider;
        try {
            provider = p.get();
        } catch (Throwable e) {
            return failed(cls, e);
        }
        String id = cls;
        int priority = 0;
        try {
            id = provider.id();
            priority = provider.priority();
            BackendProbe probe = provider.probe();
            if (probe == null) {
                probe = BackendProbe.unavailable("probe() returned null", "report this to the provider's authors", Map.of());
            }
            return new ProviderStatus(id, cls, priority, probe, provider);
        } catch (Throwable e) {
            // A probe must not throw; if it does (or a native library fails to link) the provider is listed as unavailable.
            return new ProviderStatus(id, cls, priority, BackendProbe.unavailable(
                    "probe failed: " + e.getClass().getSimpleName() + ": " + e.getMessage(),
                    remedyFor(rootCause(e)), Map.of("error", String.valueOf(e))), provider);
        }
    }

    private static ProviderStatus failed(String cls, Throwable e) {
        Throwable root = rootCause(e);
        String why = root == e ? e.getClass().getSimpleName() + ": " + e.getMessage()
                : root.getClass().getSimpleName() + ": " + root.getMessage() + " (" + e.getClass().getSimpleName() + ")";
        return new ProviderStatus(cls, cls, 0, BackendProbe.unavailable("failed to load: " + why, remedyFor(root),
                Map.of("error", String.valueOf(e))), null);
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static String remedyFor(Throwable e) {
        if (e instanceof UnsatisfiedLinkError) {
            return "install the native library it names, or remove this backend's jar from the path";
        }
        if (e instanceof LinkageError) {
            return "a dependency of this backend is missing or of the wrong version: check its jars on the path";
        }
        return "check the provider's jar and its dependencies";
    }

    /**
     * Opens the backend chosen by the property, the environment variable, or automatically.
     *
     * @return an open backend
     * @throws BackendUnavailableException if nothing suitable is available
     */
    public static KernelBackend open() {
        return open(null, Set.of());
    }

    /**
     * Opens an explicitly requested backend ({@code cpu}, {@code opencl:0:1}, {@code cuda:0}, or a
     * provider id alone for its first device).
     *
     * @param request the device or provider id; null to use the property, the environment or automatic selection
     * @return an open backend
     * @throws BackendUnavailableException with the probe's reason and remedy
     */
    public static KernelBackend open(String request) {
        return open(request, Set.of());
    }

    /**
     * Selects and opens a backend that has every required capability.
     *
     * @param request an explicit device or provider id, or null
     * @param required capabilities the work needs
     * @return an open backend
     * @throws BackendUnavailableException if the request (or no available device) can meet the needs
     */
    public static KernelBackend open(String request, Set<Capability> required) {
        return open(available(), request, required, Map.of());
    }

    /**
     * Selection over a given list of providers (used by tests and tools that discover elsewhere).
     *
     * @param providers the discovered providers
     * @param request an explicit device or provider id, or null
     * @param required capabilities the work needs
     * @param options backend options passed to {@link KernelBackendProvider#open}
     * @return an open backend
     */
    public static KernelBackend open(List<ProviderStatus> providers, String request, Set<Capability> required,
            Map<String, String> options) {
        Selection s = select(providers, request, required);
        return s.provider().open(s.device(), options);
    }

    /**
     * The choice made by {@link #select}.
     *
     * @param provider the chosen provider
     * @param device the chosen device
     * @param source what decided: {@code argument}, {@code property}, {@code environment}, {@code automatic}
     * @param skipped every other provider with the reason it was not chosen
     */
    @API(status = STABLE, since = "0.1")
    public record Selection(KernelBackendProvider provider, DeviceInfo device, String source,
            Map<String, String> skipped) {
    }

    /**
     * Chooses without opening.
     *
     * @param providers the discovered providers
     * @param request an explicit device or provider id, or null to consult the property, the environment, then priority
     * @param required capabilities the work needs
     * @return the selection
     * @throws BackendUnavailableException if nothing can be chosen
     */
    public static Selection select(List<ProviderStatus> providers, String request, Set<Capability> required) {
        String source = "argument";
        if (request == null || request.isBlank()) {
            request = System.getProperty(PROPERTY);
            source = "property " + PROPERTY;
        }
        if (request == null || request.isBlank()) {
            request = System.getenv(ENV);
            source = "environment " + ENV;
        }
        if (request != null && !request.isBlank()) {
            return explicit(providers, request.trim(), required, source);
        }
        return automatic(providers, required);
    }

    private static Selection explicit(List<ProviderStatus> providers, String request, Set<Capability> required,
            String source) {
        String providerId = request.contains(":") ? request.substring(0, request.indexOf(':')) : request;
        ProviderStatus st = providers.stream().filter(p -> p.id().equals(providerId)).findFirst().orElse(null);
        if (st == null) {
            throw new BackendUnavailableException(request, "no backend provider with id '" + providerId
                    + "' (from " + source + "); known: " + summary(providers),
                    "use one of the ids above, or add the backend's jar to the module path");
        }
        if (!st.available()) {
            throw new BackendUnavailableException(request, st.probe().reason(), st.probe().remedy());
        }
        DeviceInfo device = request.contains(":")
                ? st.probe().devices().stream().filter(d -> d.id().equals(request)).findFirst().orElse(null)
                : st.probe().devices().stream().findFirst().orElse(null);
        if (device == null) {
            throw new BackendUnavailableException(request, "no device '" + request + "'; devices of " + providerId + ": "
                    + st.probe().devices().stream().map(DeviceInfo::id).collect(Collectors.joining(", ")),
                    "use one of the device ids listed by 'nibble backends'");
        }
        for (Capability c : required) {
            if (!device.supports(c)) {
                throw new BackendUnavailableException(request, "device " + device.id() + " does not support "
                        + c.describe(), "choose another backend, or a method/precision the device supports");
            }
        }
        return new Selection(st.provider(), device, source, Map.of());
    }

    private static Selection automatic(List<ProviderStatus> providers, Set<Capability> required) {
        Map<String, String> skipped = new java.util.LinkedHashMap<>();
        Selection chosen = null;
        for (ProviderStatus st : providers) {
            if (chosen != null) {
                skipped.put(st.id(), st.available() ? "lower priority" : "unavailable: " + st.probe().reason());
                continue;
            }
            if (!st.available()) {
                skipped.put(st.id(), "unavailable: " + st.probe().reason());
                continue;
            }
            DeviceInfo ok = st.probe().devices().stream()
                    .filter(d -> required.stream().allMatch(d::supports)).findFirst().orElse(null);
            if (ok == null) {
                skipped.put(st.id(), "lacks " + required.stream().filter(c -> st.probe().devices().stream()
                        .noneMatch(d -> d.supports(c))).map(Capability::describe).collect(Collectors.joining(", ")));
                continue;
            }
            chosen = new Selection(st.provider(), ok, "automatic", skipped);
        }
        if (chosen == null) {
            throw new BackendUnavailableException("(automatic)", "no available backend has "
                    + (required.isEmpty() ? "a device" : "every needed capability") + "; " + skipped,
                    "add a backend module (nibble-backend-cpu is the default), or run 'nibble backends -v'");
        }
        Selection result = new Selection(chosen.provider(), chosen.device(), "automatic", Map.copyOf(skipped));
        LOG.log(System.Logger.Level.INFO, () -> "nibble: using backend " + result.device().id() + " (automatic)"
                + (skipped.isEmpty() ? "" : "; skipped: " + skipped.entrySet().stream()
                        .map(e -> e.getKey() + " (" + e.getValue() + ")").collect(Collectors.joining(", "))));
        return result;
    }

    private static String summary(List<ProviderStatus> providers) {
        if (providers.isEmpty()) {
            return "(none)";
        }
        return providers.stream().map(p -> p.id() + (p.available() ? " (available)" : " (unavailable: "
                + p.probe().reason() + ")")).collect(Collectors.joining(", "));
    }
}
