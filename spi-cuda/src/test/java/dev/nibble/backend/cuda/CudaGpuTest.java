package dev.nibble.backend.cuda;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.KernelBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The GPU checks under JUnit; skipped with the probe's reason on machines without a usable GPU. */
class CudaGpuTest {
    private static KernelBackend backend;
    private static String skipReason;

    @BeforeAll
    static void open() {
        BackendProbe probe = new CudaBackendProvider().probe();
        if (probe.available()) {
            backend = GpuChecks.open();
        } else {
            skipReason = probe.reason();
        }
    }

    /** Each test is reported as skipped, with the probe's reason, where there is no usable GPU (CI). */
    @BeforeEach
    void needsAGpu() {
        Assumptions.assumeTrue(backend != null, () -> skipReason);
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
    void perRowW8A8RunsTiledOnWgmmaDevices() {
        new GpuChecks(backend).tiledGemmOnWgmmaDevices();
    }

    @Test
    void noDeviceMemoryGrowthOver10000Cycles() {
        new GpuChecks(backend).noMemoryGrowth(10_000);
    }
}
