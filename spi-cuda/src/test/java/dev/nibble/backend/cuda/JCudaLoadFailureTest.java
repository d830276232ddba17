package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.backend.cuda.driver.Drivers;
import dev.nibble.backend.cuda.driver.JCudaBinding;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * JCuda's native library failing to load (here: it links libcuda.so.1, which is absent on CI) is an
 * error that names the cause, never a crash, and the JVM goes on: the probe still answers.
 * Where a driver is installed the same failure is shown by ReliabilityGpuChecks "probe" run without
 * jcuda-natives (docs/reliability.md).
 */
class JCudaLoadFailureTest {
    @Test
    void aForcedJCudaBindingThatCannotLoadIsATypedErrorAndTheJvmGoesOn() {
        Throwable load = null;
        try {
            new JCudaBinding(null);
        } catch (LinkageError | RuntimeException e) {
            load = e;
        }
        Assumptions.assumeTrue(load != null, "JCuda's native library loads here (a CUDA driver is installed)");
        SymbolLookup libc = SymbolLookup.libraryLookup("libc.so.6", Arena.global());
        String old = System.getProperty(Drivers.BINDING_PROPERTY);
        System.setProperty(Drivers.BINDING_PROPERTY, "jcuda");
        try {
            for (int attempt = 0; attempt < 2; attempt++) { // a second attempt fails the same way
                assertThatThrownBy(() -> Drivers.select(libc)).isInstanceOf(IllegalStateException.class)
                        .hasMessageStartingWith("JCuda's native library cannot load: ")
                        .hasMessageContaining("Error");
            }
        } finally {
            if (old == null) {
                System.clearProperty(Drivers.BINDING_PROPERTY);
            } else {
                System.setProperty(Drivers.BINDING_PROPERTY, old);
            }
        }
        BackendProbe probe = new CudaBackendProvider().probe();
        assertThat(probe.available()).isFalse();
        assertThat(probe.reason()).isNotBlank();
        assertThat(probe.remedy()).isNotBlank();
    }
}
