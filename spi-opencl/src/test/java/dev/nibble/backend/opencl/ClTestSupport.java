package dev.nibble.backend.opencl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceInfo;
import java.util.Map;
import java.util.Random;

/** Opens the first OpenCL device once per JVM; tests skip with the probe's reason when there is none. */
final class ClTestSupport {
    private static BackendProbe probe;
    private static OpenClBackend backend;

    private ClTestSupport() {
    }

    static synchronized BackendProbe probe() {
        if (probe == null) {
            probe = new OpenClBackendProvider().probe();
        }
        return probe;
    }

    /** @return a shared backend on the first device (PoCL in CI); skips the test when none exists */
    static synchronized OpenClBackend backend() {
        BackendProbe p = probe();
        assumeTrue(p.available(), () -> "no OpenCL device: " + p.reason() + " — " + p.remedy());
        if (backend == null) {
            DeviceInfo d = p.devices().getFirst();
            backend = (OpenClBackend) new OpenClBackendProvider().open(d, Map.of());
            Runtime.getRuntime().addShutdownHook(new Thread(backend::close));
        }
        return backend;
    }

    private static OpenClBackend other;

    /**
     * @return the shared backend and a second one on the same device with the other GEMM kernel
     *     shape (tiled local-memory kernels where the device gets the CPU-shaped ones, and back), so
     *     both kernel families are tested on whatever device runs the tests
     */
    static synchronized java.util.List<OpenClBackend> bothKernelShapes() {
        OpenClBackend b = backend();
        if (other == null) {
            boolean cpu = b.device().properties().getOrDefault("gemmKernels", "").startsWith("CPU");
            other = (OpenClBackend) new OpenClBackendProvider().open(b.device(), Map.of("kernels", cpu ? "gpu" : "cpu"));
            Runtime.getRuntime().addShutdownHook(new Thread(other::close));
        }
        return java.util.List.of(b, other);
    }

    static float[] randomFloats(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        return v;
    }

    static Tensor random(Random r, float scale, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return Tensor.ofFloats(randomFloats(r, (int) n, scale), dims);
    }
}
