package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.numerics.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The division fallback through double gives the same codes; the on-disk binary cache is written and used. */
class OpenClBuildTest {

    @Test
    void doubleQuotientPathGivesIdenticalCodes() {
        OpenClBackend shared = ClTestSupport.backend();
        assumeTrue(shared.device().properties().getOrDefault("extensions", "").contains("cl_khr_fp64"),
                "the device has no cl_khr_fp64, so the double-quotient path cannot be built here");
        var device = ClTestSupport.probe().devices().getFirst();
        try (OpenClBackend b = (OpenClBackend) new OpenClBackendProvider().open(device, Map.of("division", "fp64"))) {
            assertThat(b.device().properties().get("buildOptions")).contains("-DNIBBLE_FP64_DIV")
                    .doesNotContain("correctly-rounded");
            for (QuantScheme s : new QuantScheme[] {QuantScheme.symmetric(4, Granularity.PER_TOKEN),
                QuantScheme.affine(8, Granularity.PER_GROUP, 16), QuantScheme.nf4(64),
                QuantScheme.symmetric(8, Granularity.PER_TENSOR).withClipRatio(0.8f)}) {
                Tensor x = OpenClQuantizeTest.data(8, 150, 99);
                QuantizedTensor want = Quantizer.quantize(x, s);
                try (DeviceTensor dx = b.upload(x); DeviceQuantized q = b.quantize(dx, s)) {
                    QuantizedTensor got = b.download(q);
                    assertThat(got.codes().toByteArray()).as(s.describe()).isEqualTo(want.codes().toByteArray());
                    assertThat(got.scales().toByteArray()).isEqualTo(want.scales().toByteArray());
                }
            }
        }
    }

    @Test
    void aDotProductFlavourThatDoesNotBuildFallsBackToThePortableOne() {
        OpenClBackend shared = ClTestSupport.backend();
        assumeTrue(!shared.device().properties().getOrDefault("extensions", "").contains("cl_khr_integer_dot_product"),
                "the device has cl_khr_integer_dot_product, so forcing it does not exercise the fallback");
        var device = ClTestSupport.probe().devices().getFirst();
        try (OpenClBackend b = (OpenClBackend) new OpenClBackendProvider().open(device, Map.of("dot", "khr"))) {
            assertThat(b.dotProduct()).isEqualTo(ClDeviceFacts.DotProduct.PORTABLE);
            assertThat(b.device().properties()).containsEntry("integerDotProduct", "portable multiply-add");
            QuantScheme s = QuantScheme.symmetric(8, Granularity.PER_TOKEN);
            QuantizedTensor a = Quantizer.quantize(OpenClQuantizeTest.data(5, 64, 1), s);
            QuantizedTensor w = Quantizer.quantize(OpenClQuantizeTest.data(6, 64, 2), s);
            int[] ac = a.codes().toIntArray();
            int[] wc = w.codes().toIntArray();
            try (DeviceQuantized da = b.upload(a); DeviceQuantized dw = b.upload(w); DeviceTensor acc = b.gemmAccumulate(da, dw)) {
                int[] got = b.download(acc).toIntArray();
                for (int m = 0; m < 5; m++) {
                    for (int n = 0; n < 6; n++) {
                        int want = 0;
                        for (int k = 0; k < 64; k++) {
                            want += ac[m * 64 + k] * wc[n * 64 + k];
                        }
                        assertThat(got[m * 6 + n]).isEqualTo(want);
                    }
                }
            }
        }
    }

    @Test
    void binaryCacheOnDisk(@TempDir Path dir) throws Exception {
        ClTestSupport.backend();
        var device = ClTestSupport.probe().devices().getFirst();
        try (OpenClBackend b = (OpenClBackend) new OpenClBackendProvider().open(device, Map.of("cacheDir", dir.toString()))) {
            assertThat(b.device().properties()).containsEntry("programFromCache", "true"); // this JVM built it already
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList())
                    .singleElement().satisfies(n -> assertThat(n).startsWith("nibble-").endsWith(".clbin"));
        }
    }
}
