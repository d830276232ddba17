package dev.nibble.guice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.TypeLiteral;
import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.QuantMethod;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Runs on the module path (Surefire patches dev.nibble.guice): Guice must reach the module reflectively. */
class NibbleModuleTest {

    @Test
    void injectsTheSelectedBackendAsSingletonAndClosesIt() {
        Injector injector = Guice.createInjector(new NibbleModule(NibbleConfig.backend("cpu")));
        KernelBackend a = injector.getInstance(KernelBackend.class);
        assertThat(a).isSameAs(injector.getInstance(KernelBackend.class));
        assertThat(a.id()).isEqualTo("cpu");
        assertThat(getClass().getModule().getName()).isEqualTo("dev.nibble.guice");

        NibbleLifecycle lifecycle = injector.getInstance(NibbleLifecycle.class);
        lifecycle.close();
        assertThat(lifecycle.isClosed()).isTrue();
        assertThatThrownBy(() -> a.allocate(DType.F32, Shape.of(2))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void bindsDiscoveredMethodsById() {
        Injector injector = Guice.createInjector(new NibbleModule(NibbleConfig.defaults()));
        Map<String, QuantMethod> methods = injector.getInstance(Key.get(new TypeLiteral<Map<String, QuantMethod>>() { }));
        assertThat(methods).containsKeys("rtn", "convrot");
        methods.forEach((id, m) -> assertThat(m.id()).isEqualTo(id));
    }

    @Test
    void explicitUnavailableBackendFailsWithReason() {
        Injector injector = Guice.createInjector(new NibbleModule(NibbleConfig.backend("nope")));
        assertThatThrownBy(() -> injector.getInstance(KernelBackend.class)).isInstanceOf(ProvisionException.class)
                .hasRootCauseInstanceOf(BackendUnavailableException.class).hasStackTraceContaining("'nope'");
    }

    @Test
    void backendIsUsable() {
        Injector injector = Guice.createInjector(new NibbleModule(NibbleConfig.backend("cpu")));
        try (NibbleLifecycle lifecycle = injector.getInstance(NibbleLifecycle.class)) {
            KernelBackend b = injector.getInstance(KernelBackend.class);
            try (DeviceTensor t = b.upload(dev.nibble.api.Tensor.ofFloats(new float[] {1f, -2f}, 1, 2));
                 DeviceTensor s = b.silu(t)) {
                float[] y = b.download(s).toFloatArray();
                assertThat(y[0]).isCloseTo((float) (1 / (1 + Math.exp(-1))), org.assertj.core.data.Offset.offset(1e-6f));
            }
            assertThat(lifecycle.isClosed()).isFalse();
        }
    }
}
