package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The jar carries PTX and cubins built from the current sources (build-kernels.sh records their hash). */
class KernelResourcesTest {
    private static final Path SRC = Path.of("src/main/cuda");
    private static final String[] SOURCES = {"nibble_common.cuh", "nibble_ops.cu", "nibble_fused.cu", "nibble_kernels.cu",
        "nibble_wgmma.cu", "nibble_wgmma_grouped.cuh", "build-kernels.sh"};

    @Test
    void everyImageIsPresent() {
        assertThat(new String(KernelImage.read(KernelImage.DIR + "nibble.ptx"), StandardCharsets.US_ASCII))
                .contains(".visible .entry k_tq").contains(".visible .entry k_gemm_i4").contains("mma.sync");
        for (int sm : KernelImage.CUBIN_ARCHS) {
            byte[] cubin = KernelImage.read(KernelImage.DIR + "nibble.sm_" + sm + ".cubin");
            assertThat(cubin).startsWith(0x7f, 'E', 'L', 'F');
        }
        assertThat(KernelImage.read(KernelImage.WGMMA_SM90A)).startsWith(0x7f, 'E', 'L', 'F');
        assertThat(new String(KernelImage.read(KernelImage.WGMMA_SM90A), StandardCharsets.ISO_8859_1))
                .contains("k_wgmma_i8").contains("k_wgmma_i4_n128");
    }

    @Test
    void binariesAreNotStale() throws IOException, NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (String s : SOURCES) {
            md.update(Files.readAllBytes(SRC.resolve(s)));
        }
        String actual = HexFormat.of().formatHex(md.digest());
        String recorded = new String(KernelImage.read(KernelImage.DIR + "SOURCES.sha256"), StandardCharsets.US_ASCII).trim();
        assertThat(recorded).as("kernels built from other sources: run bash spi-cuda/src/main/cuda/build-kernels.sh")
                .isEqualTo(actual);
    }
}
