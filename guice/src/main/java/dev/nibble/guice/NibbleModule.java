package dev.nibble.guice;

import static org.apiguardian.api.API.Status.STABLE;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.Methods;
import dev.nibble.api.method.QuantMethod;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * Binds Nibble for a Guice application:
 * <ul>
 *   <li>{@link NibbleConfig} — the configuration given here;</li>
 *   <li>{@link KernelBackend} — a singleton opened by {@link Backends#open(String, java.util.Set)}
 *       with the configuration's request (so {@code -Dnibble.backend} and {@code NIBBLE_BACKEND}
 *       apply when it names none), closed by {@link NibbleLifecycle} at JVM shutdown or on demand;</li>
 *   <li>{@code Map<String, QuantMethod>} — every discovered method by id.</li>
 * </ul>
 * Usage: {@code Guice.createInjector(new NibbleModule(NibbleConfig.defaults()))}.
 */
@API(status = STABLE, since = "0.1")
public final class NibbleModule extends AbstractModule {
    private final NibbleConfig config;

    /** @param config what to select */
    public NibbleModule(NibbleConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    protected void configure() {
        bind(NibbleConfig.class).toInstance(config);
        bind(NibbleLifecycle.class).in(Singleton.class);
    }

    @Provides
    @Singleton
    KernelBackend backend(NibbleConfig cfg, NibbleLifecycle lifecycle) {
        KernelBackend b = Backends.open(Backends.available(), cfg.backend(), cfg.requiredCapabilities(), cfg.backendOptions());
        lifecycle.register(b);
        return b;
    }

    @Provides
    @Singleton
    Map<String, QuantMethod> methods() {
        Map<String, QuantMethod> m = new LinkedHashMap<>();
        for (Methods.MethodStatus s : Methods.available()) {
            if (s.loaded()) {
                m.put(s.id(), s.provider().create());
            }
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
