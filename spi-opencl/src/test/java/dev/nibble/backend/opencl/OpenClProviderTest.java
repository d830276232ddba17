package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.Capability;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Probe outcomes without a device, capabilities and build options from device facts (no OpenCL needed). */
class OpenClProviderTest {

    private static ClDeviceFacts facts(String vendor, String ext, boolean crDivide, int cc) {
        return new ClDeviceFacts(1, 2, null, null, "Some Platform", "Some Device", vendor, "OpenCL 3.0", "1.0", ext,
                1L << 30, 48 << 10, 1L << 28, 1024, 8, crDivide, cc, false);
    }

    @Test
    void missingLibraryIsUnavailableWithReasonAndRemedy() {
        BackendProbe p = new OpenClBackendProvider(() -> {
            throw new UnsatisfiedLinkError("Could not initialize native OpenCL library");
        }).probe();
        assertThat(p.available()).isFalse();
        assertThat(p.reason()).contains("could not be loaded").contains("Could not initialize native OpenCL library");
        assertThat(p.remedy()).contains("apt-get install ocl-icd-libopencl1 pocl-opencl-icd").contains("nvidia.icd");
    }

    @Test
    void noPlatformOrNoDeviceIsUnavailable() {
        BackendProbe none = new OpenClBackendProvider(() -> new ClPlatformScan.Result(List.of(), List.of())).probe();
        assertThat(none.available()).isFalse();
        assertThat(none.reason()).isEqualTo("no OpenCL platform is installed");
        BackendProbe empty = new OpenClBackendProvider(() -> new ClPlatformScan.Result(List.of("X (OpenCL 3.0)"), List.of()))
                .probe();
        assertThat(empty.reason()).contains("no devices");
        assertThat(empty.details()).containsEntry("platform.0", "X (OpenCL 3.0)");
        BackendProbe broken = new OpenClBackendProvider(() -> {
            throw new IllegalStateException("ICD loader crashed");
        }).probe();
        assertThat(broken.available()).isFalse();
        assertThat(broken.reason()).contains("ICD loader crashed");
    }

    @Test
    void devicesAreListedWithIdsAndFacts() {
        BackendProbe p = new OpenClBackendProvider(() -> new ClPlatformScan.Result(List.of("P"),
                List.of(facts("NVIDIA Corporation", "cl_khr_fp64 cl_nv_device_attribute_query", true, 90)))).probe();
        assertThat(p.available()).isTrue();
        var d = p.devices().getFirst();
        assertThat(d.id()).isEqualTo("opencl:1:2");
        assertThat(d.properties()).containsEntry("integerDotProduct", "inline PTX dp4a")
                .containsEntry("computeCapability", "9.0").containsKey("extensions").containsKey("driverVersion");
        assertThat(d.supports(new Capability.IntGemm(4, 4, true))).isTrue();
    }

    @Test
    void cpuOnlyPlatformsRankBelowTheCpuBackendAndAcceleratorsAreListedFirst() {
        ClDeviceFacts gpu = facts("NVIDIA Corporation", "cl_khr_fp64", true, 90);
        ClDeviceFacts pocl = new ClDeviceFacts(0, 0, null, null, "Portable Computing Language", "pthread-cpu", "AMD",
                "OpenCL 3.0", "6.0", "cl_khr_fp64", 1L << 30, 48 << 10, 1L << 28, 4096, 2, true, 0, true);
        OpenClBackendProvider cpuOnly = new OpenClBackendProvider(() -> new ClPlatformScan.Result(List.of("PoCL"), List.of(pocl)));
        assertThat(cpuOnly.priority()).isEqualTo(OpenClBackendProvider.PRIORITY_CPU_ONLY).isLessThan(10);
        OpenClBackendProvider both = new OpenClBackendProvider(
                () -> new ClPlatformScan.Result(List.of("PoCL", "NVIDIA"), List.of(pocl, gpu)));
        assertThat(both.priority()).isEqualTo(OpenClBackendProvider.PRIORITY_ACCELERATOR).isGreaterThan(10);
        assertThat(both.probe().devices()).extracting(d -> d.id()).containsExactly("opencl:1:2", "opencl:0:0");
    }

    @Test
    void withoutExactDivisionNothingThatDividesIsOffered() {
        Set<Capability> c = ClCapabilities.of(facts("Acme", "cl_khr_byte_addressable_store", false, 0));
        assertThat(c).doesNotContain(new Capability.Quantize(4), new Capability.Quantize(8), new Capability.QuantizeNf4(),
                new Capability.SmoothShift(), new Capability.IntGemm(4, 4, true));
        assertThat(c).contains(new Capability.FloatGemm(), new Capability.DitOps(), new Capability.WeightOnlyGemm(DType.NF4));
        Set<Capability> fp64 = ClCapabilities.of(facts("Acme", "cl_khr_fp64", false, 0));
        assertThat(fp64).contains(new Capability.Quantize(4), new Capability.IntGemm(8, 8, true));
        assertThat(ClProgramBuilder.options(facts("Acme", "cl_khr_fp64", false, 0), ClDeviceFacts.DotProduct.PORTABLE))
                .isEqualTo("-DNIBBLE_FP64_DIV");
    }

    @Test
    void dotProductAndBuildOptionsFollowTheDevice() {
        ClDeviceFacts nv = facts("NVIDIA Corporation", "cl_nv_device_attribute_query", true, 86);
        assertThat(nv.dotProduct()).isEqualTo(ClDeviceFacts.DotProduct.NVIDIA_DP4A);
        assertThat(ClProgramBuilder.options(nv, nv.dotProduct()))
                .isEqualTo("-cl-fp32-correctly-rounded-divide-sqrt -DNIBBLE_NV_DP4A");
        assertThat(facts("NVIDIA Corporation", "", true, 52).dotProduct()).isEqualTo(ClDeviceFacts.DotProduct.PORTABLE);
        ClDeviceFacts intel = facts("Intel(R) Corporation", "cl_khr_fp16 cl_khr_integer_dot_product", true, 0);
        assertThat(intel.dotProduct()).isEqualTo(ClDeviceFacts.DotProduct.KHR_INTEGER_DOT_PRODUCT);
        assertThat(ClProgramBuilder.options(intel, intel.dotProduct())).contains("-DNIBBLE_KHR_DOT").contains("-cl-std=CL3.0");
    }
}
