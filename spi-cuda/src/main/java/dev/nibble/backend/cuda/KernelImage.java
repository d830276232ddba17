package dev.nibble.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The PTX and cubins the jar carries, and which one a device loads. */
final class KernelImage {
    static final String DIR = "kernels/";
    /** Architectures with a cubin in the jar; others JIT the PTX. */
    static final int[] CUBIN_ARCHS = {80, 86, 87, 89, 90};

    private KernelImage() {
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
