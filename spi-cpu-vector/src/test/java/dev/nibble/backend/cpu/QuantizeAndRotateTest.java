package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Quantization and rotation on both paths are bit-identical to the API's canonical numerics. */
class QuantizeAndRotateTest {

    static List<QuantScheme> schemes() {
        return List.of(
                QuantScheme.symmetric(4, Granularity.PER_TOKEN),
                QuantScheme.symmetric(8, Granularity.PER_TENSOR),
                QuantScheme.symmetric(8, Granularity.PER_CHANNEL).withClipRatio(0.8f),
                QuantScheme.symmetricGroup(4, 16),
                QuantScheme.symmetricGroup(4, 32).withNarrowRange(),
                QuantScheme.symmetricGroup(8, 64),
                QuantScheme.affine(4, Granularity.PER_TOKEN, 0),
                QuantScheme.affine(4, Granularity.PER_GROUP, 24),
                QuantScheme.affine(8, Granularity.PER_TENSOR, 0).withClipRatio(0.9f),
                QuantScheme.affine(8, Granularity.PER_GROUP, 64),
                QuantScheme.nf4(16),
                QuantScheme.nf4(64));
    }

    static Stream<Arguments> pathsAndSchemes() {
        List<Arguments> a = new ArrayList<>();
        for (String p : List.of("vector", "scalar")) {
            for (QuantScheme s : schemes()) {
                a.add(Arguments.of(p, s));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("pathsAndSchemes")
    void quantizeMatchesQuantizerBitForBit(String path, QuantScheme scheme) {
        Random r = new Random(7);
        try (KernelBackend b = Fixtures.open(path)) {
            for (int[] shape : new int[][] {{1, 1}, {1, 77}, {5, 77}, {33, 130}, {3, 64}}) {
                float[] v = Fixtures.random(r, shape[0] * shape[1], 2f);
                v[0] = 0f;
                if (v.length > 3) {
                    v[3] = 40f; // an outlier
                }
                Tensor x = Tensor.ofFloats(v, shape[0], shape[1]);
                QuantizedTensor want = Quantizer.quantize(x, scheme);
                try (DeviceTensor dx = b.upload(x); DeviceQuantized dq = b.quantize(dx, scheme)) {
                    QuantizedTensor got = b.download(dq);
                    assertThat(got.codes().toByteArray()).as("codes %s", java.util.Arrays.toString(shape))
                            .isEqualTo(want.codes().toByteArray());
                    assertThat(got.scales().toFloatArray()).isEqualTo(want.scales().toFloatArray());
                    if (want.zeros() != null) {
                        assertThat(got.zeros().toIntArray()).isEqualTo(want.zeros().toIntArray());
                    }
                    try (DeviceTensor deq = b.dequantize(dq)) {
                        assertThat(b.download(deq).toFloatArray()).isEqualTo(Quantizer.dequantize(want).toFloatArray());
                    }
                }
            }
            // an all-zero row: zero scale, codes at the zero point
            Tensor zeros = Tensor.ofFloats(new float[2 * 40], 2, 40);
            try (DeviceTensor dx = b.upload(zeros); DeviceQuantized dq = b.quantize(dx, scheme)) {
                QuantizedTensor got = b.download(dq);
                assertThat(got.codes().toByteArray()).isEqualTo(Quantizer.quantize(zeros, scheme).codes().toByteArray());
            }
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"vector", "scalar"})
    void staticQuantizationMatches(String path) {
        Random r = new Random(3);
        try (KernelBackend b = Fixtures.open(path)) {
            Tensor x = Fixtures.tensor(r, 1.5f, 7, 45);
            for (QuantScheme s : List.of(QuantScheme.symmetric(8, Granularity.PER_TENSOR).asStatic(),
                    QuantScheme.symmetric(4, Granularity.PER_TENSOR).asStatic(),
                    QuantScheme.affine(8, Granularity.PER_TENSOR, 0).asStatic())) {
                int zero = s.symmetric() ? 0 : 120;
                QuantizedTensor want = Quantizer.quantizeStatic(x, s, 0.037f, zero);
                try (DeviceTensor dx = b.upload(x); DeviceQuantized dq = b.quantizeStatic(dx, s, 0.037f, zero)) {
                    assertThat(b.download(dq).codes().toByteArray()).isEqualTo(want.codes().toByteArray());
                }
            }
        }
    }

    static Stream<Arguments> rotations() {
        Random r = new Random(11);
        Tensor q = orthogonal(r, 48);
        List<Arguments> a = new ArrayList<>();
        for (String p : List.of("vector", "scalar")) {
            a.add(Arguments.of(p, new Rotation.RegularHadamard(4), 37));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(16), 100));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(64), 256));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(256), 300));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(256), 768));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(64), 192));
            a.add(Arguments.of(p, new Rotation.RegularHadamard(1024), 1024));
            a.add(Arguments.of(p, new Rotation.SylvesterHadamard(2), 9));
            a.add(Arguments.of(p, new Rotation.SylvesterHadamard(8), 50));
            a.add(Arguments.of(p, new Rotation.SylvesterHadamard(128), 256));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 64));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 96));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 12 * 64));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 20));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 52 * 32));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 156 * 16));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 172 * 8));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 1152));
            a.add(Arguments.of(p, Rotation.SylvesterHadamard.GLOBAL, 1));
            a.add(Arguments.of(p, new Rotation.Dense(q, "random-orthogonal"), 48));
            a.add(Arguments.of(p, new Rotation.Identity(), 13));
        }
        return a.stream();
    }

    static Tensor orthogonal(Random r, int n) {
        // Gram-Schmidt on a random matrix, rows orthonormal
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                m[i][j] = r.nextGaussian();
            }
            for (int p = 0; p < i; p++) {
                double d = 0;
                for (int j = 0; j < n; j++) {
                    d += m[i][j] * m[p][j];
                }
                for (int j = 0; j < n; j++) {
                    m[i][j] -= d * m[p][j];
                }
            }
            double norm = 0;
            for (int j = 0; j < n; j++) {
                norm += m[i][j] * m[i][j];
            }
            for (int j = 0; j < n; j++) {
                m[i][j] /= Math.sqrt(norm);
            }
        }
        float[] f = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                f[i * n + j] = (float) m[i][j];
            }
        }
        return Tensor.ofFloats(f, n, n);
    }

    @ParameterizedTest(name = "{0} {1} K={2}")
    @MethodSource("rotations")
    void rotateMatchesHadamardBitForBit(String path, Rotation rotation, int k) {
        Random r = new Random(k);
        try (KernelBackend b = Fixtures.open(path)) {
            for (int rows : new int[] {1, 3, 17}) {
                Tensor x = Fixtures.tensor(r, 1f, rows, k);
                float[] want = Hadamard.rotate(x, rotation).toFloatArray();
                try (DeviceTensor dx = b.upload(x); DeviceTensor y = b.rotate(dx, rotation)) {
                    assertThat(y.shape().dims()).containsExactly(rows, rotation.outputDim(k));
                    float[] got = b.download(y).toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertThat(Float.floatToRawIntBits(got[i])).as("element %d of %d", i, want.length)
                                .isEqualTo(Float.floatToRawIntBits(want[i]));
                    }
                }
            }
        }
    }

    /** Small integers cancel exactly, so the sign of every zero (x - y against x + (-y)) is checked too. */
    @ParameterizedTest(name = "block {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {16, 64, 256, 1024})
    void regularHadamardKeepsSignedZerosBitForBit(int block) {
        Random r = new Random(block);
        int rows = 9;
        int k = 2 * block;
        float[] v = new float[rows * k];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(5) - 2 + (r.nextInt(7) == 0 ? -0f : 0f);
            if (r.nextInt(11) == 0) {
                v[i] = -0f;
            }
        }
        // rows 0-2: only signed zeros (random, all -0, all +0), so every intermediate zero sign reaches the output
        for (int i = 0; i < k; i++) {
            v[i] = r.nextBoolean() ? -0f : 0f;
            v[k + i] = -0f;
            v[2 * k + i] = 0f;
        }
        // row 3: sparse, most quads all zero
        for (int i = 0; i < k; i++) {
            v[3 * k + i] = r.nextInt(9) == 0 ? r.nextInt(3) - 1 : (r.nextBoolean() ? -0f : 0f);
        }
        Tensor x = Tensor.ofFloats(v, rows, k);
        Rotation rotation = new Rotation.RegularHadamard(block);
        float[] want = Hadamard.rotate(x, rotation).toFloatArray();
        try (KernelBackend b = Fixtures.open("vector");
                DeviceTensor dx = b.upload(x); DeviceTensor y = b.rotate(dx, rotation)) {
            float[] got = b.download(y).toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertThat(Float.floatToRawIntBits(got[i])).as("element %d", i)
                        .isEqualTo(Float.floatToRawIntBits(want[i]));
            }
        }
    }
}
