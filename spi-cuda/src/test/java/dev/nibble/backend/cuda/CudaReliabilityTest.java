package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.KernelBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Out of memory, 16-thread use, leaks and determinism on an NVIDIA GPU; skipped with the probe's
 * reason where there is none (CI). The same checks run as a main: {@link ReliabilityGpuChecks}.
 */
class CudaReliabilityTest {
    private static KernelBackend backend;
    private static String skipReason;

    @BeforeAll
    static void open() {
        BackendProbe probe = new CudaBackendProvider().probe();
        if (probe.available()) {
            backend = ReliabilityGpuChecks.open();
        } else {
            skipReason = "no usable NVIDIA GPU: " + probe.reason();
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
    void outOfMemoryIsATypedErrorAndTheBackendKeepsWorking() {
        new ReliabilityGpuChecks(backend).outOfMemoryIsTypedAndRecoverable();
    }

    @Test
    void onePreparedLinearFromSixteenThreadsIsBitIdenticalToSerial() throws Exception {
        new ReliabilityGpuChecks(backend).sixteenThreadsMatchSerial();
    }

    @Test
    void outputsAreBitIdenticalRunToRun() {
        try (KernelBackend second = ReliabilityGpuChecks.open()) {
            assertThat(new ReliabilityGpuChecks(backend).deterministicOutputs(second)).hasSize(4);
        }
    }

    @Test
    void noDeviceMemoryGrowthOver10000Cycles() {
        new GpuChecks(backend).noMemoryGrowth(10_000);
    }
}
