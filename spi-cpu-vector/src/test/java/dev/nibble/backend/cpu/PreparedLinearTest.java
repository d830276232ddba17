package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused path against a reference built from the API's numerics: transform in float32 as the
 * contract says, codes from {@link Quantizer}, then the GEMM, low-rank branch and bias in double.
 */
class PreparedLinearTest {
    static final int K = 100;
    static final int N = 37;

    static Stream<Arguments> plans() {
        List<Arguments> a = new ArrayList<>();
        for (String p : List.of("vector", "scalar")) {
            for (String kind : List.of("w4a4-regular", "w8a8-token", "w4a4-group-svd", "w4a16-nf4", "dense",
                    "static-table", "w4a8-global", "uint4-weight-only")) {
                a.add(Arguments.of(p, kind));
            }
        }
        return a.stream();
    }

    record Case(QuantizedLinear plan, Tensor x) {
    }

    static Case build(String kind, int m) {
        Random r = new Random(kind.hashCode());
        int k = kind.equals("w4a8-global") ? 96 : K;
        Tensor x = Fixtures.tensor(r, 1f, 2, m, k);
        Tensor w = Fixtures.tensor(r, 0.05f, N, k);
        Tensor bias = Fixtures.tensor(r, 0.1f, N);
        QuantizedLinear.Builder b = QuantizedLinear.builder("blocks.0." + kind, k, N).bias(bias);
        Rotation rot = switch (kind) {
            case "w4a4-regular", "static-table" -> new Rotation.RegularHadamard(16);
            case "w4a8-global" -> Rotation.SylvesterHadamard.GLOBAL;
            default -> new Rotation.Identity();
        };
        b.rotation(rot);
        if (kind.equals("w4a4-group-svd") || kind.equals("w4a4-regular")) {
            float[] s = new float[k];
            float[] sh = new float[k];
            for (int i = 0; i < k; i++) {
                s[i] = 0.5f + r.nextFloat();
                sh[i] = 0.1f * (float) r.nextGaussian();
            }
            b.smooth(Tensor.ofFloats(s, k));
            if (kind.equals("w4a4-regular")) {
                b.shift(Tensor.ofFloats(sh, k));
            }
        }
        Tensor wt = Hadamard.rotate(w, rot);
        int kt = rot.outputDim(k);
        switch (kind) {
            case "w4a4-regular" -> b.weight(Quantizer.quantize(wt, QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                    .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)));
            case "w8a8-token" -> b.weight(Quantizer.quantize(wt, QuantScheme.symmetric(8, Granularity.PER_CHANNEL)))
                    .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN)));
            case "w4a4-group-svd" -> b.weight(Quantizer.quantize(wt, QuantScheme.symmetricGroup(4, 32)))
                    .activation(new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 32)))
                    .lowRank(new LowRank(Fixtures.tensor(r, 0.1f, kt, 8).to(DType.F16), Fixtures.tensor(r, 0.1f, N, 8).to(DType.F16)));
            case "w4a16-nf4" -> b.weight(Quantizer.quantize(wt, QuantScheme.nf4(64)));
            case "uint4-weight-only" -> b.weight(Quantizer.quantize(wt, QuantScheme.affine(4, Granularity.PER_GROUP, 64)));
            case "dense" -> b.denseWeight(wt.to(DType.BF16));
            case "static-table" -> b.weight(Quantizer.quantize(wt, QuantScheme.symmetric(8, Granularity.PER_CHANNEL)))
                    .activation(new ActivationQuant.StaticTable(QuantScheme.affine(8, Granularity.PER_TENSOR, 0).asStatic(),
                            new float[] {0.02f, 0.03f}, new int[] {128, 120}));
            case "w4a8-global" -> b.weight(Quantizer.quantize(wt, QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                    .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN)));
            default -> throw new IllegalArgumentException(kind);
        }
        return new Case(b.build(), x);
    }

    /** The contract's composition, from the API's numerics and double-precision sums. */
    static double[] reference(QuantizedLinear p, Tensor x, int step) {
        int rows = (int) x.shape().rows();
        int k = p.inFeatures();
        float[] v = x.toFloatArray().clone();
        if (p.smooth() != null) {
            float[] s = p.smooth().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = v[i] / s[i % k];
            }
        }
        if (p.shift() != null) {
            float[] s = p.shift().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = v[i] + s[i % k];
            }
        }
        Tensor xt = Hadamard.rotate(Tensor.ofFloats(v, rows, k), p.rotation());
        int kt = p.transformedInFeatures();
        int n = p.outFeatures();
        double[] y;
        if (p.denseWeight() != null) {
            y = Fixtures.gemm(xt.toFloatArray(), rows, kt, p.denseWeight().toFloatArray(), n);
        } else if (p.activation() instanceof ActivationQuant.None) {
            y = Fixtures.gemm(xt.toFloatArray(), rows, kt, Quantizer.dequantize(p.weight()).toFloatArray(), n);
        } else {
            QuantizedTensor qa = switch (p.activation()) {
                case ActivationQuant.Dynamic d -> Quantizer.quantize(xt, d.scheme());
                case ActivationQuant.StaticTable st -> Quantizer.quantizeStatic(xt, st.scheme(), st.scale(step), st.zeroPoint(step));
                default -> throw new IllegalStateException();
            };
            // dequantized codes in double: exact products of integers and float scales
            y = Fixtures.gemm(Quantizer.dequantize(qa).toFloatArray(), rows, kt,
                    Quantizer.dequantize(p.weight()).toFloatArray(), n);
        }
        if (p.lowRank() != null) {
            float[] d = p.lowRank().down().toFloatArray();
            float[] u = p.lowRank().up().toFloatArray();
            int rk = p.lowRank().rank();
            float[] xf = xt.toFloatArray();
            for (int i = 0; i < rows; i++) {
                double[] t = new double[rk];
                for (int j = 0; j < rk; j++) {
                    for (int c = 0; c < kt; c++) {
                        t[j] += (double) xf[i * kt + c] * d[c * rk + j];
                    }
                }
                for (int o = 0; o < n; o++) {
                    for (int j = 0; j < rk; j++) {
                        y[i * n + o] += t[j] * u[o * rk + j];
                    }
                }
            }
        }
        float[] bias = p.bias().toFloatArray();
        for (int i = 0; i < y.length; i++) {
            y[i] += bias[i % n];
        }
        return y;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("plans")
    void forwardMatchesTheComposedReference(String path, String kind) {
        try (KernelBackend b = Fixtures.open(path)) {
            for (int m : new int[] {1, 7, 70}) {
                Case c = build(kind, m);
                try (PreparedLinear pl = b.prepare(c.plan()); DeviceTensor dx = b.upload(c.x())) {
                    for (int step : new int[] {0, 1}) {
                        try (DeviceTensor y = pl.forward(dx, step)) {
                            assertThat(y.shape().dims()).containsExactly(2, m, N);
                            assertThat(Fixtures.relError(b.download(y).toFloatArray(), reference(c.plan(), c.x(), step)))
                                    .as("m=%d step=%d", m, step).isLessThan(2e-5);
                        }
                    }
                    assertThat(pl.deviceBytes()).isPositive();
                }
            }
        }
    }

    /** PreparedLinear's BF16 contract: widen exactly, the F32 path, round to nearest even; bit for bit. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("plans")
    void bf16ActivationsGiveTheRoundedF32Result(String path, String kind) {
        try (KernelBackend b = Fixtures.open(path)) {
            for (int m : new int[] {1, 70}) {
                Case c = build(kind, m);
                Tensor x16 = c.x().to(DType.BF16);
                Tensor widened = x16.to(DType.F32);
                try (PreparedLinear pl = b.prepare(c.plan()); DeviceTensor dx16 = b.upload(x16);
                        DeviceTensor dx32 = b.upload(widened)) {
                    int step = m == 1 ? 0 : 1;
                    try (DeviceTensor y16 = pl.forward(dx16, step); DeviceTensor y32 = pl.forward(dx32, step)) {
                        assertThat(y16.dtype()).isEqualTo(DType.BF16);
                        assertThat(y16.shape().dims()).containsExactly(2, m, N);
                        Tensor h16 = b.download(y16);
                        assertThat(h16.dtype()).isEqualTo(DType.BF16);
                        float[] f32 = b.download(y32).toFloatArray();
                        short[] want = new short[f32.length];
                        Bf16.round(f32, 0, want, 0, f32.length);
                        short[] got = new short[f32.length];
                        for (int i = 0; i < got.length; i++) {
                            got[i] = h16.data().getAtIndex(Tensor.I16_LE, i);
                        }
                        assertThat(got).as("m=%d", m).isEqualTo(want);
                        assertThat(Fixtures.relError(h16.toFloatArray(), reference(c.plan(), widened, step)))
                                .as("m=%d against the reference", m).isLessThan(1e-2);
                    }
                }
            }
        }
    }

    /** The conversion kernels of both paths against the API's, on every exponent with every tie pattern and NaN. */
    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void bf16ConversionKernelsMatchTheApiBitForBit(String path) {
        try (KernelBackend b = Fixtures.open(path)) {
            ScalarKernels kn = ((CpuKernelBackend) b).kernels();
            assertThat(kn.path()).isEqualTo(path);
            int[] lows = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000, 0x1234};
            float[] f = new float[0x10000 * lows.length + 5]; // + a tail shorter than a vector
            for (int i = 0; i < f.length; i++) {
                f[i] = Float.intBitsToFloat((i / lows.length) << 16 | lows[i % lows.length]);
            }
            short[] got = kn.roundBf16(f);
            for (int i = 0; i < f.length; i++) {
                if (got[i] != Bf16.round(f[i])) {
                    throw new AssertionError(String.format("%s roundBf16(%08x) = %04x, Bf16.round gives %04x", path,
                            Float.floatToRawIntBits(f[i]), got[i], Bf16.round(f[i])));
                }
            }
            float[] back = kn.widenBf16(got);
            for (int i = 0; i < got.length; i++) {
                if (Float.floatToRawIntBits(back[i]) != (got[i] & 0xFFFF) << 16) {
                    throw new AssertionError(String.format("%s widenBf16(%04x) = %08x", path, got[i],
                            Float.floatToRawIntBits(back[i])));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void otherActivationTypesAreRefusedNamingTheLayerAndTheType(String path) {
        Case c = build("w4a4-regular", 3);
        try (KernelBackend b = Fixtures.open(path); PreparedLinear pl = b.prepare(c.plan());
                DeviceTensor f16 = b.upload(c.x().to(DType.F16));
                DeviceTensor i32 = b.upload(Tensor.ofInts(new int[2 * 3 * K], 2, 3, K))) {
            assertThatThrownBy(() -> pl.forward(f16)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("blocks.0.w4a4-regular").hasMessageContaining("F16");
            assertThatThrownBy(() -> pl.forward(i32, 0)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("blocks.0.w4a4-regular").hasMessageContaining("I32");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void concurrentForwardCallsAgree(String path) throws Exception {
        Case c = build("w4a4-group-svd", 33);
        try (KernelBackend b = Fixtures.open(path); PreparedLinear pl = b.prepare(c.plan());
                DeviceTensor dx = b.upload(c.x())) {
            float[] want;
            try (DeviceTensor y = pl.forward(dx)) {
                want = b.download(y).toFloatArray();
            }
            ExecutorService ex = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[]>> fs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    fs.add(ex.submit(() -> {
                        float[] last = null;
                        for (int i = 0; i < 5; i++) {
                            try (DeviceTensor y = pl.forward(dx)) {
                                last = b.download(y).toFloatArray();
                            }
                        }
                        return last;
                    }));
                }
                for (Future<float[]> f : fs) {
                    assertThat(f.get()).isEqualTo(want);
                }
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void badInputAndCloseAreReported(String path) {
        Case c = build("static-table", 3);
        KernelBackend b = Fixtures.open(path);
        PreparedLinear pl = b.prepare(c.plan());
        DeviceTensor dx = b.upload(c.x());
        try (DeviceTensor wrong = b.upload(Tensor.ofFloats(new float[10], 2, 5))) {
            assertThatThrownBy(() -> pl.forward(wrong)).isInstanceOf(InvalidInputException.class).hasMessageContaining("x");
        }
        assertThatThrownBy(() -> pl.forward(dx, 2)).isInstanceOf(InvalidInputException.class).hasMessageContaining("step 2");
        pl.close();
        assertThatThrownBy(() -> pl.forward(dx)).isInstanceOf(IllegalStateException.class);
        b.close();
        b.close(); // idempotent
        assertThatThrownBy(() -> b.gelu(dx)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> b.prepare(c.plan())).isInstanceOf(IllegalStateException.class);
    }
}
