package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.apiguardian.api.API;

/** Discovers quantization methods with {@link ServiceLoader}; a provider that fails to load is listed, not fatal. */
@API(status = STABLE, since = "0.1")
public final class Methods {
    private Methods() {
    }

    /**
     * One discovered method provider.
     *
     * @param id the method id (the class name if it failed to load)
     * @param description one line, or the load error
     * @param provider the provider, or null if it failed to load
     */
    @API(status = STABLE, since = "0.1")
    public record MethodStatus(String id, String description, QuantMethodProvider provider) {
        /** @return true if it loaded */
        public boolean loaded() {
            return provider != null;
        }
    }

    /** @return every method provider on the path, by id */
    public static List<MethodStatus> available() {
        List<MethodStatus> out = new ArrayList<>();
        Iterator<ServiceLoader.Provider<QuantMethodProvider>> it =
                ServiceLoader.load(QuantMethodProvider.class).stream().iterator();
        while (true) {
            ServiceLoader.Provider<QuantMethodProvider> p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError | LinkageError e) {
                out.add(new MethodStatus("?", "failed to load: " + e.getMessage(), null));
                continue;
            }
            try {
                QuantMethodProvider provider = p.get();
                out.add(new MethodStatus(provider.id(), provider.create().description(), provider));
            } catch (Throwable e) {
                out.add(new MethodStatus(p.type().getName(), "failed to load: " + e, null));
            }
        }
        out.sort(Comparator.comparing(MethodStatus::id));
        return List.copyOf(out);
    }

    /**
     * @param id a method id
     * @return a new instance of that method
     * @throws UnknownMethodException listing the known ids
     */
    public static QuantMethod get(String id) {
        List<MethodStatus> all = available();
        return all.stream().filter(m -> m.loaded() && m.id().equals(id)).findFirst()
                .map(m -> m.provider().create())
                .orElseThrow(() -> new UnknownMethodException("unknown method '" + id + "'; known: "
                        + all.stream().filter(MethodStatus::loaded).map(MethodStatus::id).collect(Collectors.joining(", "))));
    }
}
