package dev.nibble.backend.cuda.driver;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The FFM binding's symbol table is complete and every signature links, on any machine. */
class FfmBindingTableTest {

    @Test
    void tableCoversEveryDriverFunction() {
        Set<String> keys = FfmBinding.TABLE.stream().map(FfmBinding.Entry::key).collect(Collectors.toSet());
        assertThat(keys).contains("cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName",
                "cuDeviceGetAttribute", "cuDeviceTotalMem", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease",
                "cuCtxSetCurrent", "cuModuleLoadData", "cuModuleUnload", "cuModuleGetFunction", "cuFuncSetAttribute",
                "cuMemAlloc", "cuMemFree", "cuMemcpyHtoD", "cuMemcpyDtoH", "cuMemcpyDtoD", "cuMemsetD8",
                "cuLaunchKernel", "cuCtxSynchronize", "cuMemGetInfo", "cuEventCreate", "cuEventRecord",
                "cuEventSynchronize", "cuEventElapsedTime", "cuEventDestroy",
                "cuOccupancyMaxActiveBlocksPerMultiprocessor");
        assertThat(FfmBinding.TABLE).hasSize(keys.size());
        // the 64-bit memory functions must bind to their _v2 entry points
        assertThat(FfmBinding.TABLE).filteredOn(e -> e.key().startsWith("cuMem"))
                .allSatisfy(e -> assertThat(e.symbols().getFirst()).endsWith("_v2"));
    }

    @Test
    void everySignatureLinks() {
        Linker linker = Linker.nativeLinker();
        for (FfmBinding.Entry e : FfmBinding.TABLE) {
            assertThat(linker.downcallHandle(e.descriptor())).as(e.key()).isNotNull();
            assertThat(e.descriptor().returnLayout()).as(e.key() + " returns CUresult").isPresent();
        }
    }

    @Test
    void everySymbolResolvesWhereTheDriverIsInstalled() {
        SymbolLookup lib = Drivers.cudaLibrary().orElse(null);
        Assumptions.assumeTrue(lib != null, "no CUDA driver: libcuda.so.1 not found");
        for (FfmBinding.Entry e : FfmBinding.TABLE) {
            assertThat(e.symbols().stream().anyMatch(s -> lib.find(s).isPresent())).as(e.key()).isTrue();
        }
    }
}
