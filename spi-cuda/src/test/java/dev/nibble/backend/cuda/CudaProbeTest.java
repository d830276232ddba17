package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.ProviderStatus;
import dev.nibble.backend.cuda.driver.Drivers;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class CudaProbeTest {

    @Test
    void providerIsDiscoveredWithItsIdAndPriority() {
        ProviderStatus s = Backends.available().stream().filter(x -> x.id().equals("cuda")).findFirst().orElseThrow();
        assertThat(s.priority()).isEqualTo(30);
        assertThat(s.provider()).isInstanceOf(CudaBackendProvider.class);
        assertThat(s.provider().description()).contains("CUDA");
        if (!s.available()) {
            assertThat(s.probe().reason()).isNotBlank();
        }
    }

    @Test
    void probeNeverThrowsAndExplainsItself() {
        BackendProbe probe = new CudaBackendProvider().probe();
        assertThat(probe.details()).containsKey("driver library");
        if (!probe.available()) {
            assertThat(probe.reason()).isNotBlank();
            assertThat(probe.remedy()).isNotBlank();
            assertThat(probe.devices()).isEmpty();
        } else {
            assertThat(probe.devices()).allSatisfy(d -> {
                assertThat(d.id()).matches("cuda:\\d+");
                assertThat(d.properties()).containsKeys("compute capability", "kernel path", "driver", "binding");
            });
        }
    }

    @Test
    void withoutDriverTheProbeNamesTheMissingLibrary() {
        Assumptions.assumeTrue(Drivers.cudaLibrary().isEmpty(), "a CUDA driver is installed on this machine");
        BackendProbe probe = new CudaBackendProvider().probe();
        assertThat(probe.available()).isFalse();
        assertThat(probe.reason()).isEqualTo("no CUDA driver: libcuda.so.1 not found");
        assertThat(probe.remedy()).contains("NVIDIA driver");
    }

    @Test
    void openingWithoutDriverFailsWithTheProbeReason() {
        Assumptions.assumeTrue(Drivers.cudaLibrary().isEmpty(), "a CUDA driver is installed on this machine");
        DeviceInfo fake = new DeviceInfo("cuda:0", "none", 0, Set.of(), Map.of());
        assertThatThrownBy(() -> new CudaBackendProvider().open(fake, Map.of()))
                .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("libcuda.so.1 not found");
    }

    @Test
    void kernelPathFollowsTheComputeCapability() {
        assertThat(CudaBackendProvider.kernelPath(9, 0)).contains("nibble.sm_90.cubin").contains("unpacked to INT8");
        assertThat(CudaBackendProvider.kernelPath(9, 0)).contains("wgmma").contains("nibble_wgmma.sm_90a.cubin").contains("tiled");
        assertThat(CudaBackendProvider.kernelPath(8, 6)).contains("nibble.sm_86.cubin").contains("native mma.sync m16n8k64 s4")
                .doesNotContain("wgmma");
        assertThat(CudaBackendProvider.kernelPath(12, 0)).contains("nibble.ptx");
        assertThat(TensorCoreGemm.kernel(4, true, 9)).isEqualTo("k_gemm_i4_g");
        assertThat(TensorCoreGemm.kernel(4, false, 8)).isEqualTo("k_gemm_s4");
        assertThat(TensorCoreGemm.kernel(8, false, 9)).isEqualTo("k_gemm_i8");
    }

    @Test
    void wgmmaTakesPerRowGemmsItsTilesFit() {
        int sms = 132;
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, false, 4096, 3072, 3072, 0, sms)).isEqualTo(256);
        assertThat(TensorCoreGemm.wgmmaTileN(true, 4, false, 4096, 3072, 3072, 32, sms)).isEqualTo(256);
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, false, 256, 3072, 3072, 0, sms)).as("few tiles").isEqualTo(128);
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, false, 300, 200, 384, 0, sms)).as("edge tiles").isEqualTo(128);
        assertThat(TensorCoreGemm.wgmmaTileN(true, 4, false, 4096, 4608, 1280, 0, sms)).as("short K INT4").isZero();
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, true, 4096, 3072, 3072, 0, sms)).as("grouped").isZero();
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, false, 4096, 3072, 3072, 64, sms)).isEqualTo(256);
        assertThat(TensorCoreGemm.wgmmaTileN(true, 8, false, 4096, 3072, 3072, 80, sms)).as("rank").isZero();
        assertThat(TensorCoreGemm.wgmmaTileN(false, 8, false, 4096, 3072, 3072, 0, sms)).as("not sm_90").isZero();
        assertThat(KernelImage.wgmmaFor(9, 0)).contains(KernelImage.WGMMA_SM90A);
        assertThat(KernelImage.wgmmaFor(8, 9)).isEmpty();
        assertThat(KernelImage.wgmmaFor(10, 0)).isEmpty();
    }

    @Test
    void groupedWgmmaTakesGroupsOf64Only() {
        int cpg4 = TensorCoreGemm.chunksPerGroupArg(4, 64, 9);
        int cpg8 = TensorCoreGemm.chunksPerGroupArg(8, 64, 9);
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 4, cpg4, 4096, 3072, 32)).isTrue();
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 8, cpg8, 300, 200, 0)).isTrue();
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 4, 1, 77, 12288, 64)).as("I2F hint off").isTrue();
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 4, TensorCoreGemm.chunksPerGroupArg(4, 128, 9), 4096, 3072, 32))
                .as("group 128").isFalse();
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 8, TensorCoreGemm.chunksPerGroupArg(8, 32, 9), 4096, 3072, 0))
                .as("group 32").isFalse();
        assertThat(TensorCoreGemm.wgmmaGrouped(true, 4, cpg4, 4096, 3072, 80)).as("rank").isFalse();
        assertThat(TensorCoreGemm.wgmmaGrouped(false, 4, cpg4, 4096, 3072, 32)).as("not sm_90").isFalse();
        assertThat(TensorCoreGemm.WGMMA_KERNELS).contains("k_wgmma_i4_g", "k_wgmma_i8_g");
    }

    @Test
    void int8ActivationInt4WeightGemmAndTiledGemmAreListedWithTheirSharedMemory() {
        assertThat(TensorCoreGemm.WGMMA_KERNELS).contains("k_wgmma_i4w", "k_wgmma_i4w_n128", "k_wgmma_i8_t");
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i8")).isEqualTo(TensorCoreGemm.WGMMA_SMEM);
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i4_g")).as("the 196 KB carve-out keeps 60 KB of L1")
                .isEqualTo(TensorCoreGemm.WGMMA_SMEM_SMALL).isLessThanOrEqualTo(200704 - 1024);
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i8_t")).isEqualTo(TensorCoreGemm.WGMMA_T_SMEM)
                .isLessThanOrEqualTo(232448);   // the sm_90 opt-in limit per block
        assertThat(TensorCoreGemm.wgmmaInt8ActInt4W(true, 4096, 3072, 3072, 0)).isTrue();
        assertThat(TensorCoreGemm.wgmmaInt8ActInt4W(true, 4096, 3072, 3200, 0)).as("K not a multiple of 256").isFalse();
        assertThat(TensorCoreGemm.wgmmaInt8ActInt4W(true, 4096, 3072, 3072, 80)).as("rank").isFalse();
        assertThat(TensorCoreGemm.wgmmaInt8ActInt4W(false, 4096, 3072, 3072, 0)).as("not sm_90").isFalse();
    }

    @Test
    void tiledGemmKernelsAreListedWithSharedMemoryThatFitsABlock() {
        assertThat(TensorCoreGemm.WGMMA_KERNELS).contains("k_wgmma_i8_n128_tw");
        for (String k : List.of("k_wgmma_i8_t", "k_wgmma_i8_t_n128", "k_wgmma_i4w_t", "k_wgmma_i4w_t_n128")) {
            assertThat(TensorCoreGemm.WGMMA_KERNELS).contains(k);
            assertThat(TensorCoreGemm.wgmmaSmem(k)).as(k).isGreaterThan(TensorCoreGemm.WGMMA_SMEM_SMALL / 2)
                    .isLessThanOrEqualTo(232448);   // the sm_90 opt-in limit per block
        }
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i8_t_n128")).isEqualTo(TensorCoreGemm.WGMMA_T_N128_SMEM);
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i4w_t")).isEqualTo(TensorCoreGemm.WGMMA_I4W_T_SMEM);
        assertThat(TensorCoreGemm.wgmmaSmem("k_wgmma_i4w_t_n128")).isEqualTo(TensorCoreGemm.WGMMA_I4W_T_N128_SMEM);
    }

    private static TensorCoreGemm.TiledPlan tiled(String kernel, boolean tiledA, boolean unpackW4) {
        return new TensorCoreGemm.TiledPlan(kernel, tiledA, unpackW4);
    }

    @Test
    void tiledGemmPicksTheWeightWidthAndNarrowTilesWhenFewTilesWouldFillTheSms() {
        // 4096 x 3072: 32 x 12 tiles of 128 x 256, enough for 132 SMs; W4A4 unpacks its weights first there
        assertThat(TensorCoreGemm.tiledPlan(8, 4096, 3072, 3072, 132)).isEqualTo(tiled("k_wgmma_i8_t", true, false));
        assertThat(TensorCoreGemm.tiledPlan(4, 4096, 3072, 3072, 132)).isEqualTo(tiled("k_wgmma_i8_t", true, true));
        assertThat(TensorCoreGemm.tiledPlan(4, 4096, 3072, 3072, 132).unpacked()).as("the GEMM after the unpack")
                .isEqualTo(tiled("k_wgmma_i8_t", true, false));
        assertThatThrownBy(() -> TensorCoreGemm.launchTiled(null, TensorCoreGemm.tiledPlan(4, 4096, 3072, 3072, 132), null,
                null, 4096, 3072, 3072, null, null, null, null, 0, null, null, null, true, false)).as("packed W not unpacked")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpacked first");
        assertThat(TensorCoreGemm.tiledPlan(4, 1024, 4608, 1280, 132)).isEqualTo(tiled("k_wgmma_i8_t", true, true));
        assertThat(TensorCoreGemm.tiledPlan(4, 1024, 4608, 2048, 132)).isEqualTo(tiled("k_wgmma_i8_t", true, true));
        // 256 x 3072: 2 x 12 = 24 tiles of 128 x 256 would fill under half of 132 SMs
        // INT8: the row-major cp.async pipeline on the tiled W, A row-major; W4: the producer unpacks
        assertThat(TensorCoreGemm.tiledPlan(8, 256, 3072, 3072, 132)).isEqualTo(tiled("k_wgmma_i8_n128_tw", false, false));
        assertThat(TensorCoreGemm.tiledPlan(4, 256, 3072, 3072, 132)).isEqualTo(tiled("k_wgmma_i4w_t_n128", true, false));
        assertThat(TensorCoreGemm.tiledPlan(4, 256, 3072, 1280, 132)).isEqualTo(tiled("k_wgmma_i4w_t_n128", true, false));
        // 256 x 12288: 96 tiles, at least half of 132, but too few rows to unpack first
        assertThat(TensorCoreGemm.tiledPlan(4, 256, 12288, 3072, 132)).as("many tiles, too few rows")
                .isEqualTo(tiled("k_wgmma_i4w_t", true, false));
        assertThat(TensorCoreGemm.tiledPlan(8, 256, 12288, 3072, 200)).as("more SMs")
                .isEqualTo(tiled("k_wgmma_i8_n128_tw", false, false));
        assertThat(TensorCoreGemm.tiledPlan(8, 300, 200, 1152 + 64, 132)).as("K a multiple of 64, not 128")
                .isEqualTo(tiled("k_wgmma_i8_t_n128", true, false));
        // packed INT4 W with a short K: 128 x 128 tiles even with many tiles (INT8 keeps 128 x 256)
        assertThat(TensorCoreGemm.tiledPlan(4, 512, 4608, 1152 + 128, 132)).isEqualTo(tiled("k_wgmma_i4w_t_n128", true, false));
        assertThat(TensorCoreGemm.tiledPlan(4, 512, 4608, 2048, 132)).isEqualTo(tiled("k_wgmma_i4w_t", true, false));
        assertThat(TensorCoreGemm.tiledPlan(8, 1024, 4608, 1152, 132)).isEqualTo(tiled("k_wgmma_i8_t", true, false));
        assertThatThrownBy(() -> TensorCoreGemm.tiledPlan(4, 4096, 3072, 1152 + 64, 132)).as("INT4 alignment")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256");
        assertThatThrownBy(() -> TensorCoreGemm.tiledPlan(4, 4096, 3072, 3072 + 128, 132)).as("INT4 alignment")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("256");
        assertThatThrownBy(() -> TensorCoreGemm.tiledPlan(8, 4096, 3072, 1000, 132))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64");
        assertThatThrownBy(() -> TensorCoreGemm.tiledPlan(2, 4096, 3072, 3072, 132))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2-bit");
    }
}
