package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.numerics.Quantizer;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Integer GEMMs exact against int64 sums of the codes; float GEMMs within float32 tolerance of float64. */
class OpenClGemmTest {
    static final int M = 37;
    static final int N = 70;
    static final int K = 200;

    static Stream<Arguments> pairs() {
        return Stream.of(
                Arguments.of(QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)),
                Arguments.of(QuantScheme.symmetric(8, Granularity.PER_TOKEN), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)),
                Arguments.of(QuantScheme.symmetric(8, Granularity.PER_TOKEN), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)),
                Arguments.of(QuantScheme.symmetric(4, Granularity.PER_TENSOR), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)),
                Arguments.of(QuantScheme.symmetricGroup(4, 64), QuantScheme.symmetricGroup(4, 64)),
                Arguments.of(QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetricGroup(4, 32)),
                Arguments.of(QuantScheme.affine(4, Granularity.PER_GROUP, 64), QuantScheme.affine(4, Granularity.PER_GROUP, 64)),
                Arguments.of(QuantScheme.affine(8, Granularity.PER_TOKEN, 0), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)),
                Arguments.of(QuantScheme.symmetricGroup(8, 24), QuantScheme.affine(4, Granularity.PER_GROUP, 24)));
    }

    @ParameterizedTest
    @MethodSource("pairs")
    void integerGemmIsExactAndDequantizes(QuantScheme sa, QuantScheme sw) {
        for (OpenClBackend b : ClTestSupport.bothKernelShapes()) {
            integerGemm(b, sa, sw);
        }
    }

    private void integerGemm(OpenClBackend b, QuantScheme sa, QuantScheme sw) {
        Random r = new Random(11);
        QuantizedTensor qa = Quantizer.quantize(ClTestSupport.random(r, 1f, M, K), sa);
        QuantizedTensor qw = Quantizer.quantize(ClTestSupport.random(r, 0.2f, N, K), sw);
        int gs = sa.granularity() == Granularity.PER_GROUP ? sa.groupSize()
                : sw.granularity() == Granularity.PER_GROUP ? sw.groupSize() : K;
        int groups = (K + gs - 1) / gs;
        long[][][] acc = reference(qa, qw, gs, groups);
        try (DeviceQuantized da = b.upload(qa); DeviceQuantized dw = b.upload(qw);
                DeviceTensor dacc = b.gemmAccumulate(da, dw); DeviceTensor dy = b.gemmQuantized(da, dw)) {
            int[] got = b.download(dacc).toIntArray();
            boolean grouped = gs != K;
            assertThat(dacc.shape().dims()).containsExactly(grouped ? new long[] {groups, M, N} : new long[] {M, N});
            for (int g = 0; g < groups; g++) {
                for (int m = 0; m < M; m++) {
                    for (int n = 0; n < N; n++) {
                        assertThat((long) got[(g * M + m) * N + n]).as("acc[%d,%d,%d]", g, m, n).isEqualTo(acc[g][m][n]);
                    }
                }
            }
            float[] y = b.download(dy).toFloatArray();
            float[] as = qa.scales().toFloatArray();
            float[] ws = qw.scales().toFloatArray();
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) {
                    double want = 0;
                    for (int g = 0; g < groups; g++) {
                        want += acc[g][m][n] * (double) scale(as, sa, m, g, groups) * scale(ws, sw, n, g, groups);
                    }
                    assertThat((double) y[m * N + n]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 + 1e-5 * Math.abs(want)));
                }
            }
        }
    }

    private static float scale(float[] s, QuantScheme q, int row, int g, int groups) {
        return switch (q.granularity()) {
            case PER_TENSOR -> s[0];
            case PER_CHANNEL, PER_TOKEN -> s[row];
            case PER_GROUP -> s[row * groups + g];
        };
    }

    private static long[][][] reference(QuantizedTensor qa, QuantizedTensor qw, int gs, int groups) {
        int[] a = qa.codes().toIntArray();
        int[] w = qw.codes().toIntArray();
        int[] za = qa.zeros() == null ? null : qa.zeros().toIntArray();
        int[] zw = qw.zeros() == null ? null : qw.zeros().toIntArray();
        long[][][] acc = new long[groups][M][N];
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                for (int k = 0; k < K; k++) {
                    int g = k / gs;
                    int av = a[m * K + k] - zero(za, qa.scheme(), m, k);
                    int wv = w[n * K + k] - zero(zw, qw.scheme(), n, k);
                    acc[g][m][n] += (long) av * wv;
                }
            }
        }
        return acc;
    }

    private static int zero(int[] z, QuantScheme s, int row, int k) {
        if (z == null) {
            return 0;
        }
        return switch (s.granularity()) {
            case PER_TENSOR -> z[0];
            case PER_CHANNEL, PER_TOKEN -> z[row];
            case PER_GROUP -> z[row * s.scalesPerRow(K) + k / s.groupSize()];
        };
    }

    static Stream<QuantScheme> weightSchemes() {
        return Stream.of(QuantScheme.symmetric(4, Granularity.PER_CHANNEL), QuantScheme.affine(4, Granularity.PER_GROUP, 64),
                QuantScheme.symmetric(8, Granularity.PER_CHANNEL), QuantScheme.affine(8, Granularity.PER_CHANNEL, 0),
                QuantScheme.nf4(64));
    }

    @ParameterizedTest
    @MethodSource("weightSchemes")
    void weightOnlyGemmEqualsFloatGemmOfDequantizedWeights(QuantScheme sw) {
        for (OpenClBackend b : ClTestSupport.bothKernelShapes()) {
            weightOnly(b, sw);
        }
    }

    private void weightOnly(OpenClBackend b, QuantScheme sw) {
        Random r = new Random(5);
        Tensor x = ClTestSupport.random(r, 1f, M, K);
        QuantizedTensor qw = Quantizer.quantize(ClTestSupport.random(r, 0.2f, N, K), sw);
        double[] want = matmulT(x.toFloatArray(), Quantizer.dequantize(qw).toFloatArray(), M, N, K);
        try (DeviceTensor dx = b.upload(x); DeviceQuantized dw = b.upload(qw); DeviceTensor y = b.gemmWeightOnly(dx, dw)) {
            assertClose(b.download(y).toFloatArray(), want);
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void floatGemmAndLowRank(DType wt) {
        for (OpenClBackend b : ClTestSupport.bothKernelShapes()) {
            floatGemm(b, wt);
        }
    }

    private void floatGemm(OpenClBackend b, DType wt) {
        Random r = new Random(9);
        Tensor x = ClTestSupport.random(r, 1f, M, K);
        Tensor w = ClTestSupport.random(r, 0.3f, N, K).to(wt);
        double[] want = matmulT(x.toFloatArray(), w.to(DType.F32).toFloatArray(), M, N, K);
        try (DeviceTensor dx = b.upload(x); DeviceTensor dw = b.upload(w); DeviceTensor y = b.gemm(dx, dw)) {
            assertThat(y.shape().dims()).containsExactly(M, N);
            assertClose(b.download(y).toFloatArray(), want);
        }
        int rank = 12;
        Tensor down = ClTestSupport.random(r, 0.3f, K, rank).to(wt);
        Tensor up = ClTestSupport.random(r, 0.3f, N, rank).to(wt);
        float[] d = down.to(DType.F32).toFloatArray();
        float[] xv = x.toFloatArray();
        float[] t = new float[M * rank];
        for (int m = 0; m < M; m++) {
            for (int j = 0; j < rank; j++) {
                double s = 0;
                for (int k = 0; k < K; k++) {
                    s += (double) xv[m * K + k] * d[k * rank + j];
                }
                t[m * rank + j] = (float) s;
            }
        }
        double[] lr = matmulT(t, up.to(DType.F32).toFloatArray(), M, N, rank);
        try (DeviceTensor dx = b.upload(x); DeviceTensor dd = b.upload(down); DeviceTensor du = b.upload(up);
                DeviceTensor y = b.lowRank(dx, dd, du)) {
            assertClose(b.download(y).toFloatArray(), lr);
        }
    }

    @Test
    void mismatchedShapesAreNamed() {
        OpenClBackend b = ClTestSupport.backend();
        try (DeviceTensor x = b.upload(Tensor.ofFloats(new float[6], 2, 3));
                DeviceTensor w = b.upload(Tensor.ofFloats(new float[8], 2, 4))) {
            assertThatThrownBy(() -> b.gemm(x, w)).isInstanceOf(InvalidInputException.class).hasMessageContaining("K=3");
            x.close();
            assertThatThrownBy(() -> b.gelu(x)).isInstanceOf(InvalidInputException.class).hasMessageContaining("closed");
        }
    }

    static double[] matmulT(float[] x, float[] w, int m, int n, int k) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += (double) x[i * k + t] * w[j * k + t];
                }
                y[i * n + j] = s;
            }
        }
        return y;
    }

    static void assertClose(float[] got, double[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < got.length; i++) {
            assertThat((double) got[i]).as("element %d", i)
                    .isCloseTo(want[i], org.assertj.core.data.Offset.offset(2e-4 + 2e-5 * Math.abs(want[i])));
        }
    }
}
