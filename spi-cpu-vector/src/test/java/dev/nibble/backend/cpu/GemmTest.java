package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** GEMMs against double-precision loops: integer accumulators exact, floats within 1e-5 relative. */
class GemmTest {
    static final int[][] SHAPES = {{1, 1, 1}, {1, 77, 5}, {5, 64, 48}, {67, 300, 97}, {4, 513, 50}, {70, 130, 130},
        {1, 300, 200}, {1, 513, 130}, {2, 130, 97}};
    /** The scalar loops are the plain definition: small shapes keep the suite fast. */
    static final int[][] SCALAR_SHAPES = {{1, 1, 1}, {1, 77, 5}, {5, 64, 48}, {3, 300, 13}};

    static int[][] shapes(String path) {
        return path.equals("scalar") ? SCALAR_SHAPES : SHAPES;
    }

    static Stream<Arguments> intCases() {
        QuantScheme[] acts = {QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetric(8, Granularity.PER_TOKEN),
            QuantScheme.symmetricGroup(4, 32), QuantScheme.affine(8, Granularity.PER_TOKEN, 0),
            QuantScheme.affine(4, Granularity.PER_GROUP, 32), QuantScheme.symmetric(8, Granularity.PER_TENSOR)};
        QuantScheme[] weights = {QuantScheme.symmetric(4, Granularity.PER_CHANNEL), QuantScheme.symmetric(8, Granularity.PER_CHANNEL),
            QuantScheme.symmetricGroup(4, 32), QuantScheme.affine(4, Granularity.PER_GROUP, 32),
            QuantScheme.affine(8, Granularity.PER_CHANNEL, 0)};
        List<Arguments> a = new ArrayList<>();
        for (String p : List.of("vector", "scalar")) {
            for (QuantScheme s : acts) {
                for (QuantScheme w : weights) {
                    a.add(Arguments.of(p, s, w));
                }
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} a={1} w={2}")
    @MethodSource("intCases")
    void integerGemmIsExactAndDequantizes(String path, QuantScheme as, QuantScheme ws) {
        Random r = new Random(5);
        try (KernelBackend b = Fixtures.open(path)) {
            for (int[] s : shapes(path)) {
                int m = s[0];
                int k = s[1];
                int n = s[2];
                QuantizedTensor qa = Quantizer.quantize(Fixtures.tensor(r, 1f, m, k), as);
                QuantizedTensor qw = Quantizer.quantize(Fixtures.tensor(r, 0.1f, n, k), ws);
                int g = as.granularity() == Granularity.PER_GROUP ? as.groupSize()
                        : ws.granularity() == Granularity.PER_GROUP ? ws.groupSize() : k;
                int groups = (k + g - 1) / g;
                long[] want = accumulate(qa, qw, g);
                try (DeviceQuantized da = b.upload(qa); DeviceQuantized dw = b.upload(qw);
                        DeviceTensor acc = b.gemmAccumulate(da, dw); DeviceTensor y = b.gemmQuantized(da, dw)) {
                    int[] got = b.download(acc).toIntArray();
                    assertThat(got.length).isEqualTo(want.length);
                    for (int i = 0; i < want.length; i++) {
                        assertThat((long) got[i]).as("acc %d of M=%d K=%d N=%d", i, m, k, n).isEqualTo(want[i]);
                    }
                    boolean grouped = as.granularity() == Granularity.PER_GROUP || ws.granularity() == Granularity.PER_GROUP;
                    assertThat(acc.shape().dims()).isEqualTo(grouped ? new long[] {groups, m, n} : new long[] {m, n});
                    double[] ref = new double[m * n];
                    float[] sa = qa.scales().toFloatArray();
                    float[] sw = qw.scales().toFloatArray();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            for (int gi = 0; gi < groups; gi++) {
                                ref[i * n + j] += want[(gi * m + i) * n + j] * (double) sa[idx(as, i, gi, groups)]
                                        * sw[idx(ws, j, gi, groups)];
                            }
                        }
                    }
                    assertThat(Fixtures.relError(b.download(y).toFloatArray(), ref)).isLessThan(1e-5);
                }
            }
        }
    }

    /** Dequantization is the same float operations on both paths: outputs are identical. */
    @org.junit.jupiter.api.Test
    void quantizedGemmIsIdenticalOnBothPaths() {
        Random r = new Random(31);
        try (KernelBackend v = Fixtures.open("vector"); KernelBackend s = Fixtures.open("scalar")) {
            for (QuantScheme[] pair : new QuantScheme[][] {
                {QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)},
                {QuantScheme.symmetricGroup(4, 64), QuantScheme.affine(4, Granularity.PER_GROUP, 64)},
                {QuantScheme.affine(8, Granularity.PER_TOKEN, 0), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)}}) {
                QuantizedTensor qa = Quantizer.quantize(Fixtures.tensor(r, 1f, 9, 200), pair[0]);
                QuantizedTensor qw = Quantizer.quantize(Fixtures.tensor(r, 0.1f, 70, 200), pair[1]);
                float[][] out = new float[2][];
                int i = 0;
                for (KernelBackend b : List.of(v, s)) {
                    try (DeviceQuantized da = b.upload(qa); DeviceQuantized dw = b.upload(qw);
                            DeviceTensor y = b.gemmQuantized(da, dw)) {
                        out[i++] = b.download(y).toFloatArray();
                    }
                }
                assertThat(out[0]).isEqualTo(out[1]);
            }
        }
    }

    /** Extreme codes (all −8, all 255 against zero 0, random full range) stress the exactness bounds. */
    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void integerGemmIsExactAtTheCodeExtremes(String path) {
        Random r = new Random(29);
        int n = 100;
        int k = 1000;
        try (KernelBackend b = Fixtures.open(path)) {
            // M = 5 runs the tiled kernel, M = 1 the single-row one
            // "w4a8-min": int8 activations of −128 against int4 weights of −8 (the 16-bit GEMV's shortest chunk);
            // "w7a4-min": int4 weights of 7 against activations of −8 (both nibbles at their largest positive code)
            for (int m : new int[] {5, 1}) for (String kind : List.of("int4-min", "int4-random", "uint8-max", "int8-min", "uint4-max", "w4a8-min", "w7a4-min")) {
                QuantScheme s = switch (kind) {
                    case "int4-min", "int4-random", "w7a4-min" -> QuantScheme.symmetric(4, Granularity.PER_TOKEN);
                    case "int8-min", "w4a8-min" -> QuantScheme.symmetric(8, Granularity.PER_TOKEN);
                    case "uint8-max" -> QuantScheme.affine(8, Granularity.PER_TOKEN, 0);
                    default -> QuantScheme.affine(4, Granularity.PER_GROUP, 100);
                };
                boolean mixed = kind.equals("w4a8-min");
                QuantScheme w4 = QuantScheme.symmetric(4, Granularity.PER_CHANNEL).withClipRatio(1f);
                QuantizedTensor qa = extreme(mixed ? "int8-min" : kind.equals("w7a4-min") ? "int4-min" : kind, s, m, k, r);
                QuantizedTensor qw = mixed ? extreme("int4-min", w4, n, k, r)
                        : kind.equals("w7a4-min") ? extreme("int4-max", w4, n, k, r) : extreme(kind, s.withClipRatio(1f), n, k, r);
                int g = s.granularity() == Granularity.PER_GROUP ? s.groupSize() : k;
                long[] want = accumulate(qa, qw, g);
                try (DeviceQuantized da = b.upload(qa); DeviceQuantized dw = b.upload(qw);
                        DeviceTensor acc = b.gemmAccumulate(da, dw)) {
                    int[] got = b.download(acc).toIntArray();
                    for (int i = 0; i < want.length; i++) {
                        assertThat((long) got[i]).as("%s acc %d", kind, i).isEqualTo(want[i]);
                    }
                }
            }
        }
    }

    /**
     * The single-row kernels (including the 16-bit one that dequantizes short sums straight into y)
     * give the tiled kernel's float outputs bit for bit: K with a partial last group, N with a partial
     * last block, per-channel and group-64 codes, INT4 and INT8 activations.
     */
    @org.junit.jupiter.api.Test
    void singleRowKernelsEqualTheTiledKernel() {
        Random r = new Random(41);
        int k = 200;
        int n = 100;
        QuantScheme[][] cases = {
            {QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)},
            {QuantScheme.symmetricGroup(4, 64), QuantScheme.symmetricGroup(4, 64)},
            {QuantScheme.symmetricGroup(8, 64), QuantScheme.symmetricGroup(4, 64)},
            {QuantScheme.symmetric(8, Granularity.PER_TOKEN), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)}};
        try (WorkerPool pool = new WorkerPool(2)) {
            for (QuantScheme[] c : cases) {
                Quantized qa = SmallMTiming.toQuantized(Quantizer.quantize(Fixtures.tensor(r, 1f, 1, k), c[0]));
                PackedWeight pw = new PackedWeight(SmallMTiming.toQuantized(Quantizer.quantize(Fixtures.tensor(r, 0.1f, n, k), c[1])),
                        IntGemm.L);
                int g = c[0].granularity() == Granularity.PER_GROUP ? 64 : k;
                float[] single = new float[n];
                float[] tiled = new float[n];
                IntGemm.run(pool, qa, pw, g, single, null, true);
                IntGemm.run(pool, qa, pw, g, tiled, null, false);
                assertThat(single).as("a=%s w=%s", c[0].describe(), c[1].describe()).isEqualTo(tiled);
                assertThat(tiled).as("not all zero").isNotEqualTo(new float[n]);
            }
        }
    }

    static QuantizedTensor extreme(String kind, QuantScheme s, int rows, int k, Random r) {
        int[] codes = new int[rows * k];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = switch (kind) {
                case "int4-min" -> -8;
                case "int4-max" -> 7;
                case "int4-random" -> r.nextInt(16) - 8;
                case "int8-min" -> -128;
                case "uint8-max" -> 255;
                default -> 15;
            };
        }
        Tensor c;
        if (s.codeType().isPacked()) {
            c = Tensor.ofBytes(s.codeType(), dev.nibble.api.numerics.Int4Packing.pack(codes, rows, k), rows, k);
        } else {
            byte[] bytes = new byte[codes.length];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) codes[i];
            }
            c = Tensor.ofBytes(s.codeType(), bytes, rows, k);
        }
        int scales = (int) QuantizedTensor.expectedScaleCount(dev.nibble.api.Shape.of(rows, k), s);
        float[] sc = new float[scales];
        java.util.Arrays.fill(sc, 1f);
        Tensor zeros = s.symmetric() ? null : Tensor.ofInts(new int[scales], scales);
        Tensor st = s.granularity() == Granularity.PER_GROUP ? Tensor.ofFloats(sc, rows, scales / rows) : Tensor.ofFloats(sc, scales);
        if (zeros != null && s.granularity() == Granularity.PER_GROUP) {
            zeros = Tensor.ofInts(new int[scales], rows, scales / rows);
        }
        return new QuantizedTensor(c, st, zeros, s);
    }

    static int idx(QuantScheme s, int row, int group, int groups) {
        return switch (s.granularity()) {
            case PER_TENSOR -> 0;
            case PER_TOKEN, PER_CHANNEL -> row;
            case PER_GROUP -> row * groups + group;
        };
    }

    static long[] accumulate(QuantizedTensor a, QuantizedTensor w, int g) {
        int m = (int) a.shape().rows();
        int n = (int) w.shape().rows();
        int k = (int) a.shape().cols();
        int groups = (k + g - 1) / g;
        int[] ca = a.codes().toIntArray();
        int[] cw = w.codes().toIntArray();
        int[] za = a.zeros() == null ? null : a.zeros().toIntArray();
        int[] zw = w.zeros() == null ? null : w.zeros().toIntArray();
        long[] acc = new long[groups * m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int t = 0; t < k; t++) {
                    int gi = t / g;
                    long x = ca[i * k + t] - (za == null ? 0 : za[idx(a.scheme(), i, t / gs(a, k), groupsOf(a, k))]);
                    long y = cw[j * k + t] - (zw == null ? 0 : zw[idx(w.scheme(), j, t / gs(w, k), groupsOf(w, k))]);
                    acc[(gi * m + i) * n + j] += x * y;
                }
            }
        }
        return acc;
    }

    static int gs(QuantizedTensor q, int k) {
        return q.scheme().granularity() == Granularity.PER_GROUP ? q.scheme().groupSize() : k;
    }

    static int groupsOf(QuantizedTensor q, int k) {
        return q.scheme().scalesPerRow(k);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void floatGemmMatchesDouble(String path) {
        Random r = new Random(9);
        try (KernelBackend b = Fixtures.open(path)) {
            for (int[] s : shapes(path)) {
                Tensor x = Fixtures.tensor(r, 1f, s[0], s[1]);
                Tensor w = Fixtures.tensor(r, 1f, s[2], s[1]);
                double[] want = Fixtures.gemm(x.toFloatArray(), s[0], s[1], w.toFloatArray(), s[2]);
                for (DType wt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                    Tensor wc = w.to(wt);
                    double[] ref = wt == DType.F32 ? want
                            : Fixtures.gemm(x.toFloatArray(), s[0], s[1], wc.toFloatArray(), s[2]);
                    try (DeviceTensor dx = b.upload(x); DeviceTensor dw = b.upload(wc); DeviceTensor y = b.gemm(dx, dw)) {
                        assertThat(y.shape().dims()).containsExactly(s[0], s[2]);
                        assertThat(Fixtures.relError(b.download(y).toFloatArray(), ref)).as("%s %s", wt,
                                java.util.Arrays.toString(s)).isLessThan(1e-5);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void weightOnlyGemmMatchesDequantizedDouble(String path) {
        Random r = new Random(13);
        try (KernelBackend b = Fixtures.open(path)) {
            for (QuantScheme ws : List.of(QuantScheme.nf4(64), QuantScheme.nf4(16), QuantScheme.symmetricGroup(4, 32),
                    QuantScheme.affine(4, Granularity.PER_GROUP, 64), QuantScheme.symmetric(8, Granularity.PER_CHANNEL),
                    QuantScheme.affine(8, Granularity.PER_CHANNEL, 0))) {
                for (int[] s : shapes(path)) {
                    Tensor x = Fixtures.tensor(r, 1f, s[0], s[1]);
                    QuantizedTensor qw = Quantizer.quantize(Fixtures.tensor(r, 0.1f, s[2], s[1]), ws);
                    double[] want = Fixtures.gemm(x.toFloatArray(), s[0], s[1], Quantizer.dequantize(qw).toFloatArray(), s[2]);
                    try (DeviceTensor dx = b.upload(x); DeviceQuantized dw = b.upload(qw);
                            DeviceTensor y = b.gemmWeightOnly(dx, dw)) {
                        assertThat(Fixtures.relError(b.download(y).toFloatArray(), want)).as("%s %s", ws.describe(),
                                java.util.Arrays.toString(s)).isLessThan(1e-5);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void lowRankMatchesDouble(String path) {
        Random r = new Random(17);
        try (KernelBackend b = Fixtures.open(path)) {
            int m = 9;
            int k = 70;
            int rank = 5;
            int n = 33;
            Tensor x = Fixtures.tensor(r, 1f, m, k);
            Tensor down = Fixtures.tensor(r, 1f, k, rank);
            Tensor up = Fixtures.tensor(r, 1f, n, rank).to(DType.BF16);
            float[] d = down.toFloatArray();
            float[] u = up.toFloatArray();
            float[] xv = x.toFloatArray();
            double[] want = new double[m * n];
            for (int i = 0; i < m; i++) {
                double[] t = new double[rank];
                for (int j = 0; j < rank; j++) {
                    for (int c = 0; c < k; c++) {
                        t[j] += (double) xv[i * k + c] * d[c * rank + j];
                    }
                }
                for (int o = 0; o < n; o++) {
                    for (int j = 0; j < rank; j++) {
                        want[i * n + o] += t[j] * u[o * rank + j];
                    }
                }
            }
            try (DeviceTensor dx = b.upload(x); DeviceTensor dd = b.upload(down); DeviceTensor du = b.upload(up);
                    DeviceTensor y = b.lowRank(dx, dd, du)) {
                assertThat(Fixtures.relError(b.download(y).toFloatArray(), want)).isLessThan(1e-5);
            }
        }
    }
}
