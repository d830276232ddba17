package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Codes, scales and zero points bit-identical to the host quantizer, for every kind of scheme. */
class OpenClQuantizeTest {

    static Stream<QuantScheme> schemes() {
        List<QuantScheme> s = new ArrayList<>();
        for (int bits : new int[] {4, 8}) {
            for (Granularity g : new Granularity[] {Granularity.PER_TENSOR, Granularity.PER_TOKEN, Granularity.PER_CHANNEL}) {
                s.add(QuantScheme.symmetric(bits, g));
                s.add(QuantScheme.affine(bits, g, 0));
                s.add(QuantScheme.symmetric(bits, g).withNarrowRange().withClipRatio(0.9f));
            }
            s.add(QuantScheme.symmetricGroup(bits, 64));
            s.add(QuantScheme.symmetricGroup(bits, 7));
            s.add(QuantScheme.affine(bits, Granularity.PER_GROUP, 32));
            s.add(QuantScheme.affine(bits, Granularity.PER_GROUP, 5).withClipRatio(0.75f));
            s.add(new QuantScheme(QuantScheme.Format.INT, bits, false, true, Granularity.PER_TOKEN, 0, false, 1f, true));
        }
        s.add(QuantScheme.nf4(64));
        s.add(QuantScheme.nf4(9));
        return s.stream();
    }

    /** Gaussian rows with outliers, an all-zero row, values on exact half steps, odd K. */
    static Tensor data(int rows, int k, long seed) {
        Random r = new Random(seed);
        float[] v = ClTestSupport.randomFloats(r, rows * k, 1f);
        for (int c = 0; c < k; c++) {
            v[2 * k + c] = 0f; // an all-zero row: zero scale
            v[3 * k + c] = (c % 15 - 7) * 0.5f; // ties under rint
        }
        v[5] = 40f;
        v[k + 3] = -25f;
        return Tensor.ofFloats(v, rows, k);
    }

    @ParameterizedTest
    @MethodSource("schemes")
    void codesMatchTheHostQuantizer(QuantScheme scheme) {
        OpenClBackend b = ClTestSupport.backend();
        for (int k : new int[] {67, 256}) {
            Tensor x = data(9, k, 42 + k);
            QuantizedTensor want = Quantizer.quantize(x, scheme);
            try (DeviceTensor dx = b.upload(x); DeviceQuantized q = b.quantize(dx, scheme)) {
                QuantizedTensor got = b.download(q);
                assertThat(got.codes().dtype()).isEqualTo(want.codes().dtype());
                assertThat(got.codes().shape()).isEqualTo(want.codes().shape());
                assertThat(got.codes().toByteArray()).as("codes %s K=%d", scheme.describe(), k)
                        .isEqualTo(want.codes().toByteArray());
                assertThat(got.scales().shape()).isEqualTo(want.scales().shape());
                assertThat(got.scales().toByteArray()).as("scales").isEqualTo(want.scales().toByteArray());
                if (want.zeros() == null) {
                    assertThat(got.zeros()).isNull();
                } else {
                    assertThat(got.zeros().toIntArray()).as("zeros").isEqualTo(want.zeros().toIntArray());
                }
                try (DeviceTensor dq = b.dequantize(q)) {
                    assertThat(b.download(dq).toByteArray()).as("dequantized")
                            .isEqualTo(Quantizer.dequantize(want).toByteArray());
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("schemes")
    void staticCodesMatchTheHostQuantizer(QuantScheme scheme) {
        if (scheme.granularity() != Granularity.PER_TENSOR) {
            return;
        }
        OpenClBackend b = ClTestSupport.backend();
        Tensor x = data(6, 45, 7);
        QuantScheme st = scheme.asStatic();
        int zp = scheme.symmetric() ? 0 : 3;
        QuantizedTensor want = Quantizer.quantizeStatic(x, st, 0.07f, zp);
        try (DeviceTensor dx = b.upload(x); DeviceQuantized q = b.quantizeStatic(dx, st, 0.07f, zp)) {
            QuantizedTensor got = b.download(q);
            assertThat(got.codes().toByteArray()).isEqualTo(want.codes().toByteArray());
            assertThat(got.scales().toFloatArray()).containsExactly(0.07f);
        }
    }
}
