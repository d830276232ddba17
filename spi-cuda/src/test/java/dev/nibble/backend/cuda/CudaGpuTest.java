package dev.nibble.backend.cuda;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.KernelBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The GPU checks under JUnit; skipped with the probe's reason on machines without a usable GPU. */
class CudaGpuTest {
    private static KernelBackend backend;

    @BeforeAll
    static void open() {
        BackendProbe probe = new CudaBackendProvider().probe();
        Assumptions.assumeTrue(probe.available(), probe.reason());
        backend = GpuChecks.open();
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void quantizeIsBitIdentical() {
        new GpuChecks(backend).quantizeMatchesQuantizerBitForBit();
    }

    @Test
    void rotationsAreBitIdentical() {
        new GpuChecks(backend).rotationsMatchHadamardBitForBit();
    }

    @Test
    void fusedLinearsMatchTheReference() {
        new GpuChecks(backend).fusedLinearsMatchTheReference();
    }

    @Test
    void noDeviceMemoryGrowthOver10000Cycles() {
        new GpuChecks(backend).noMemoryGrowth(10_000);
    }
}
