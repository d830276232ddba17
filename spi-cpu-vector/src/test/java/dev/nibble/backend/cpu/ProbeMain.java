package dev.nibble.backend.cpu;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import java.util.Map;

/** Run in a child JVM by {@link FallbackTest}: prints what the provider sees and computes one GEMM. */
public final class ProbeMain {
    private ProbeMain() {
    }

    /** @param args ignored */
    public static void main(String[] args) {
        CpuBackendProvider p = new CpuBackendProvider();
        BackendProbe probe = p.probe();
        System.out.println("available=" + probe.available());
        System.out.println("path=" + probe.details().get("path"));
        System.out.println("reason=" + probe.reason());
        System.out.println("remedy=" + probe.remedy());
        try (KernelBackend b = p.open(probe.devices().getFirst(), Map.of("threads", "2"));
                DeviceTensor x = b.upload(Tensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2));
                DeviceTensor y = b.gemm(x, x)) {
            float[] v = b.download(y).toFloatArray();
            System.out.println("kernels=" + ((CpuKernelBackend) b).path());
            System.out.println("gemm=" + v[0] + "," + v[1] + "," + v[2] + "," + v[3]);
        }
    }
}
