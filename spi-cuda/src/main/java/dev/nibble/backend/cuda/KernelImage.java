package dev.nibble.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;

/** The PTX and cubins the jar carries, and which one a device loads. */
final class KernelImage {
    static final String DIR = "kernels/";
    /** Architectures with a cubin in the jar; others JIT the PTX. */
    static final int[] CUBIN_ARCHS = {80, 86, 87, 89, 90};

    /** The wgmma GEMM (nibble_wgmma.cu): sm_90a code, which runs on compute capability 9.0 only. */
    static final String WGMMA_SM90A = DIR + "nibble_wgmma.sm_90a.cubin";

    private KernelImage() {
    }

    /** @return the wgmma GEMM image a device of this compute capability can load, if any */
    static Optional<String> wgmmaFor(int major, int minor) {
        return major == 9 && minor == 0 ? Optional.of(WGMMA_SM90A) : Optional.empty();
    }

    /** @return the resource name a device of this compute capability loads */
    static String resourceFor(int major, int minor) {
        int sm = major * 10 + minor;
        for (int a : CUBIN_ARCHS) {
            if (a == sm) {
                return DIR + "nibble.sm_" + sm + ".cubin";
            }
        }
        return DIR + "nibble.ptx";
    }

    static byte[] read(String name) {
        try (InputStream in = KernelImage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("kernel resource " + name + " missing from the nibble-backend-cuda jar");
            }
            byte[] b = in.readAllBytes();
            if (name.endsWith(".ptx")) {
                byte[] z = new byte[b.length + 1];
                System.arraycopy(b, 0, z, 0, b.length);
                return z;
            }
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
