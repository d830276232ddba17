package dev.nibble.backend.opencl;

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
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** The fused path against a host composition of the canonical numerics in float64. */
class OpenClPreparedLinearTest {
    private static final int M = 6;
    private static final int K = 96;
    private static final int N = 40;
    private final Random r = new Random(23);

    private Tensor vec(int n, float base, float spread) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = base + spread * r.nextFloat();
        }
        return Tensor.ofFloats(v, n);
    }

    /** x_t = rotate(x / smooth + shift), host float32, the same ops the device runs. */
    private static Tensor transform(QuantizedLinear p, Tensor x) {
        float[] v = x.toFloatArray();
        int k = p.inFeatures();
        float[] s = p.smooth() == null ? null : p.smooth().toFloatArray();
        float[] o = p.shift() == null ? null : p.shift().toFloatArray();
        for (int i = 0; i < v.length; i++) {
            if (s != null) {
                v[i] = v[i] / s[i % k];
            }
            if (o != null) {
                v[i] = v[i] + o[i % k];
            }
        }
        return Hadamard.rotate(Tensor.ofFloats(v, v.length / k, k), p.rotation());
    }

    private static double[] reference(QuantizedLinear p, Tensor x, int step) {
        Tensor xt = transform(p, x);
        int m = (int) xt.shape().rows();
        int kt = p.transformedInFeatures();
        float[] a;
        if (p.activation() instanceof ActivationQuant.None) {
            a = xt.toFloatArray();
        } else {
            QuantizedTensor qa = switch (p.activation()) {
                case ActivationQuant.Dynamic d -> Quantizer.quantize(xt, d.scheme());
                case ActivationQuant.StaticTable s -> Quantizer.quantizeStatic(xt, s.scheme(), s.scale(step), s.zeroPoint(step));
                default -> throw new IllegalStateException();
            };
            a = Quantizer.dequantize(qa).toFloatArray();
        }
        float[] w = p.weight() != null ? Quantizer.dequantize(p.weight()).toFloatArray() : p.denseWeight().to(DType.F32).toFloatArray();
        double[] y = OpenClGemmTest.matmulT(a, w, m, p.outFeatures(), kt);
        if (p.lowRank() != null) {
            float[] xv = xt.toFloatArray();
            float[] d = p.lowRank().down().to(DType.F32).toFloatArray();
            float[] u = p.lowRank().up().to(DType.F32).toFloatArray();
            int rank = p.lowRank().rank();
            for (int i = 0; i < m; i++) {
                double[] t = new double[rank];
                for (int j = 0; j < rank; j++) {
                    for (int c = 0; c < kt; c++) {
                        t[j] += (double) xv[i * kt + c] * d[c * rank + j];
                    }
                }
                for (int n = 0; n < p.outFeatures(); n++) {
                    for (int j = 0; j < rank; j++) {
                        y[i * p.outFeatures() + n] += t[j] * u[n * rank + j];
                    }
                }
            }
        }
        if (p.bias() != null) {
            float[] bv = p.bias().toFloatArray();
            for (int i = 0; i < y.length; i++) {
                y[i] += bv[i % p.outFeatures()];
            }
        }
        return y;
    }

    private void check(QuantizedLinear plan, Tensor x, int step) {
        OpenClBackend b = ClTestSupport.backend();
        double[] want = reference(plan, x, step);
        try (PreparedLinear pl = b.prepare(plan); DeviceTensor dx = b.upload(x); DeviceTensor y = pl.forward(dx, step)) {
            assertThat(pl.deviceBytes()).isPositive();
            assertThat(y.shape()).isEqualTo(x.shape().withCols(plan.outFeatures()));
            float[] got = b.download(y).toFloatArray();
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).as("%s y[%d]", plan.name(), i)
                        .isCloseTo(want[i], Offset.offset(1e-3 + 1e-4 * Math.abs(want[i])));
            }
        }
        checkBf16(plan, x, step);
    }

    /** PreparedLinear's BF16 contract: out == RNE(F32 forward of the widened x), bit for bit. */
    private static void checkBf16(QuantizedLinear plan, Tensor x, int step) {
        OpenClBackend b = ClTestSupport.backend();
        Tensor x16 = x.to(DType.BF16);
        try (PreparedLinear pl = b.prepare(plan); DeviceTensor d16 = b.upload(x16);
                DeviceTensor d32 = b.upload(x16.to(DType.F32)); DeviceTensor y16 = pl.forward(d16, step);
                DeviceTensor y32 = pl.forward(d32, step)) {
            assertThat(y16.dtype()).isEqualTo(DType.BF16);
            assertThat(y16.shape()).isEqualTo(x.shape().withCols(plan.outFeatures()));
            float[] f32 = b.download(y32).toFloatArray();
            short[] got = bits(b.download(y16));
            for (int i = 0; i < f32.length; i++) {
                if (got[i] != Bf16.round(f32[i])) {
                    throw new AssertionError(String.format("%s BF16 y[%d] = %04x, RNE of the F32 path's %s is %04x",
                            plan.name(), i, got[i], f32[i], Bf16.round(f32[i])));
                }
            }
        }
    }

    private static short[] bits(Tensor t) {
        assertThat(t.dtype()).isEqualTo(DType.BF16);
        short[] s = new short[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.data().getAtIndex(Tensor.I16_LE, i);
        }
        return s;
    }

    /** The two conversion kernels against dev.nibble.api.numerics.Bf16 on every exponent, every tie, NaN and infinity. */
    @Test
    void bf16KernelsMatchTheJavaConversionsBitForBit() {
        OpenClBackend b = ClTestSupport.backend();
        int[] lows = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x40_00, 0xC0_00};
        int n = 0x10000 * lows.length;
        float[] f = new float[n];
        for (int hi = 0; hi < 0x10000; hi++) {
            for (int j = 0; j < lows.length; j++) {
                f[hi * lows.length + j] = Float.intBitsToFloat(hi << 16 | lows[j]);
            }
        }
        try (ClTensor in = (ClTensor) b.upload(Tensor.ofFloats(f, n));
                ClTensor out = b.alloc(DType.BF16, dev.nibble.api.Shape.of(n));
                ClTensor wide = b.alloc(DType.F32, dev.nibble.api.Shape.of(n))) {
            b.kernels().launch1("bf16_round", n, in, out, n);
            short[] got = bits(b.download(out));
            for (int i = 0; i < n; i++) {
                if (got[i] != Bf16.round(f[i])) {
                    throw new AssertionError(String.format("bf16_round(%08x) = %04x, Java gives %04x",
                            Float.floatToRawIntBits(f[i]), got[i], Bf16.round(f[i])));
                }
            }
            b.kernels().launch1("bf16_widen", n, out, wide, n);
            float[] back = b.download(wide).toFloatArray();
            for (int i = 0; i < n; i++) {
                assertThat(Float.floatToRawIntBits(back[i])).as("widen(%04x)", got[i])
                        .isEqualTo(Float.floatToRawIntBits(Bf16.widen(got[i])));
            }
        }
    }

    @Test
    void activationsOtherThanF32AndBf16AreRefusedNamingLayerAndType() {
        OpenClBackend b = ClTestSupport.backend();
        QuantizedLinear plan = QuantizedLinear.builder("blocks.3.mlp.fc2", K, N).denseWeight(ClTestSupport.random(r, 1f, N, K)).build();
        try (PreparedLinear pl = b.prepare(plan); DeviceTensor f16 = b.upload(ClTestSupport.random(r, 1f, 2, K).to(DType.F16));
                DeviceTensor i32 = b.upload(Tensor.ofInts(new int[2 * K], 2, K))) {
            assertThatThrownBy(() -> pl.forward(f16)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("blocks.3.mlp.fc2").hasMessageContaining("F16");
            assertThatThrownBy(() -> pl.forward(i32)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("blocks.3.mlp.fc2").hasMessageContaining("I32");
        }
    }

    private QuantizedTensor weight(Rotation rot, QuantScheme s) {
        Tensor w = ClTestSupport.random(r, 0.2f, N, K);
        return Quantizer.quantize(Hadamard.rotate(w, rot), s);
    }

    @Test
    void convRotInt4WithPaddedRegularHadamard() {
        Rotation rot = new Rotation.RegularHadamard(64);
        QuantizedLinear plan = QuantizedLinear.builder("convrot", K, N).rotation(rot)
                .weight(weight(rot, QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)))
                .bias(vec(N, -1f, 2f)).build();
        check(plan, ClTestSupport.random(r, 1f, M, K), 0);
        check(plan, ClTestSupport.random(r, 1f, 2, 3, K), 0);
    }

    @Test
    void svdQuantSmoothGroupedInt4WithLowRank() {
        QuantScheme g64 = QuantScheme.symmetricGroup(4, 32);
        LowRank lr = new LowRank(ClTestSupport.random(r, 0.1f, K, 8).to(DType.F16), ClTestSupport.random(r, 0.1f, N, 8).to(DType.BF16));
        QuantizedLinear plan = QuantizedLinear.builder("svdquant", K, N).smooth(vec(K, 0.5f, 1.5f))
                .weight(weight(new Rotation.Identity(), g64)).activation(new ActivationQuant.Dynamic(g64)).lowRank(lr)
                .bias(vec(N, 0f, 1f)).build();
        check(plan, ClTestSupport.random(r, 1f, M, K), 0);
    }

    @Test
    void tfmqStaticTablePerStepAndAffine() {
        QuantScheme st = QuantScheme.affine(8, Granularity.PER_TENSOR, 0).asStatic();
        QuantizedLinear plan = QuantizedLinear.builder("tfmq", K, N).shift(vec(K, -0.1f, 0.2f))
                .weight(weight(new Rotation.Identity(), QuantScheme.affine(8, Granularity.PER_CHANNEL, 0)))
                .activation(new ActivationQuant.StaticTable(st, new float[] {0.02f, 0.03f, 0.05f}, new int[] {120, 128, 131}))
                .build();
        Tensor x = ClTestSupport.random(r, 1f, M, K);
        check(plan, x, 0);
        check(plan, x, 2);
        OpenClBackend b = ClTestSupport.backend();
        try (PreparedLinear pl = b.prepare(plan); DeviceTensor dx = b.upload(x)) {
            assertThatThrownBy(() -> pl.forward(dx, 3)).isInstanceOf(InvalidInputException.class).hasMessageContaining("step 3");
        }
    }

    @Test
    void weightOnlyNf4AndDenseWithGlobalSylvester() {
        QuantizedLinear nf4 = QuantizedLinear.builder("nf4", K, N).weight(weight(new Rotation.Identity(), QuantScheme.nf4(64)))
                .bias(vec(N, 0f, 1f)).build();
        check(nf4, ClTestSupport.random(r, 1f, M, K), 0);
        Rotation g = Rotation.SylvesterHadamard.GLOBAL;
        QuantizedLinear dense = QuantizedLinear.builder("dense", K, N)
                .rotation(g).denseWeight(Hadamard.rotate(ClTestSupport.random(r, 0.2f, N, K), g).to(DType.BF16)).build();
        check(dense, ClTestSupport.random(r, 1f, M, K), 0);
    }

    @Test
    void wrongWidthIsNamed() {
        OpenClBackend b = ClTestSupport.backend();
        QuantizedLinear plan = QuantizedLinear.builder("fc1", K, N).denseWeight(ClTestSupport.random(r, 1f, N, K)).build();
        try (PreparedLinear pl = b.prepare(plan); DeviceTensor dx = b.upload(ClTestSupport.random(r, 1f, 2, K + 1))) {
            assertThatThrownBy(() -> pl.forward(dx)).isInstanceOf(InvalidInputException.class).hasMessageContaining("fc1");
        }
    }
}
