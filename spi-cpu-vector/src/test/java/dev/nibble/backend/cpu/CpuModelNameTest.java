package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpuModelNameTest {
    @TempDir
    Path dir;

    @Test
    void readsTheFirstModelNameFromCpuinfo() throws Exception {
        Path f = Files.writeString(dir.resolve("cpuinfo"), """
                processor\t: 0
                vendor_id\t: AuthenticAMD
                model\t\t: 17
                model name\t: AMD EPYC   9B14 96-Core Processor
                processor\t: 1
                model name\t: something else
                """);
        assertThat(CpuModelName.fromCpuinfo(f)).isEqualTo("AMD EPYC 9B14 96-Core Processor");
    }

    @Test
    void missingOrNamelessFilesGiveNullNotAnException() throws Exception {
        assertThat(CpuModelName.fromCpuinfo(dir.resolve("absent"))).isNull();
        assertThat(CpuModelName.fromCpuinfo(dir)).isNull();
        Path arm = Files.writeString(dir.resolve("arm"), "processor\t: 0\nBogoMIPS\t: 50.00\nmodel name\t:   \n");
        assertThat(CpuModelName.fromCpuinfo(arm)).isNull();
    }

    @Test
    void theDeviceNameCarriesTheModelCoresAndVectorWidth() {
        String name = new CpuBackendProvider().probe().devices().getFirst().name();
        String model = CpuModelName.fromCpuinfo(CpuModelName.PROC_CPUINFO);
        assertThat(name).startsWith(model != null ? model : System.getProperty("os.arch") + " CPU")
                .contains("(" + Runtime.getRuntime().availableProcessors() + " cores, ")
                .endsWith(CpuPlatform.detect().vector() ? "-bit vectors)" : "scalar)");
    }
}
