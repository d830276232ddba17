package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.KernelBackendProvider;
import dev.nibble.api.numerics.Quantizer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Element-wise, row and DiT operations against double-precision loops; errors; the provider. */
class OpsTest {

    static float[] run(KernelBackend b, Tensor x, java.util.function.Function<DeviceTensor, DeviceTensor> op) {
        try (DeviceTensor d = b.upload(x); DeviceTensor y = op.apply(d)) {
            assertThat(y.shape()).isEqualTo(x.shape());
            return b.download(y).toFloatArray();
        }
    }

    static void assertClose(float[] got, double[] want, double tol) {
        assertThat(Fixtures.relError(got, want)).isLessThan(tol);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void elementwiseAndRowOps(String path) {
        Random r = new Random(21);
        try (KernelBackend b = Fixtures.open(path)) {
            Tensor x = Fixtures.tensor(r, 3f, 2, 5, 67);
            float[] v = x.toFloatArray();
            int d = 67;
            double[] gelu = new double[v.length];
            double[] silu = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                double t = v[i];
                gelu[i] = 0.5 * t * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (t + 0.044715 * t * t * t)));
                silu[i] = t / (1 + Math.exp(-t));
            }
            assertClose(run(b, x, b::gelu), gelu, 1e-6);
            assertClose(run(b, x, b::silu), silu, 1e-6);
            double[] ln = new double[v.length];
            double[] sm = new double[v.length];
            for (int row = 0; row < 10; row++) {
                double mean = 0;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < d; i++) {
                    mean += v[row * d + i];
                    max = Math.max(max, v[row * d + i]);
                }
                mean /= d;
                double var = 0;
                double sum = 0;
                for (int i = 0; i < d; i++) {
                    var += (v[row * d + i] - mean) * (v[row * d + i] - mean);
                    sum += Math.exp(v[row * d + i] - max);
                }
                var /= d;
                for (int i = 0; i < d; i++) {
                    ln[row * d + i] = (v[row * d + i] - mean) / Math.sqrt(var + 1e-6);
                    sm[row * d + i] = Math.exp(v[row * d + i] - max) / sum;
                }
            }
            assertClose(run(b, x, t -> b.layerNorm(t, 1e-6f)), ln, 1e-5);
            assertClose(run(b, x, b::softmax), sm, 1e-5);

            Tensor shift = Fixtures.tensor(r, 1f, 2, d);
            Tensor scale = Fixtures.tensor(r, 1f, 2, d);
            Tensor y = Fixtures.tensor(r, 1f, 2, 5, d);
            double[] mod = new double[v.length];
            double[] gated = new double[v.length];
            float[] sh = shift.toFloatArray();
            float[] sc = scale.toFloatArray();
            float[] yv = y.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                int bi = i / (5 * d);
                int c = i % d;
                mod[i] = v[i] * (1.0 + sc[bi * d + c]) + sh[bi * d + c];
                gated[i] = v[i] + (double) sc[bi * d + c] * yv[i];
            }
            try (DeviceTensor dsh = b.upload(shift); DeviceTensor dsc = b.upload(scale); DeviceTensor dy = b.upload(y)) {
                assertClose(run(b, x, t -> b.modulate(t, dsh, dsc)), mod, 1e-6);
                assertClose(run(b, x, t -> b.gatedAdd(t, dsc, dy)), gated, 1e-6);
                assertClose(run(b, x, t -> b.add(t, dy)), addRef(v, yv, v.length), 1e-6);
            }
            Tensor bias = Fixtures.tensor(r, 1f, d);
            float[] bv = bias.toFloatArray();
            double[] biased = new double[v.length];
            double[] smoothed = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                biased[i] = (double) v[i] + bv[i % d];
                smoothed[i] = (double) v[i] / bv[i % d];
            }
            try (DeviceTensor db = b.upload(bias)) {
                assertClose(run(b, x, t -> b.add(t, db)), biased, 1e-6);
                assertClose(run(b, x, t -> b.shift(t, db)), biased, 1e-6);
                float[] sm2 = run(b, x, t -> b.smooth(t, db));
                for (int i = 0; i < v.length; i++) {
                    assertThat(sm2[i]).isEqualTo(v[i] / bv[i % d]); // IEEE float32 division, exactly
                }
            }
        }
    }

    static double[] addRef(float[] a, float[] b, int n) {
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = (double) a[i] + b[i];
        }
        return s;
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void attentionMatchesDouble(String path) {
        Random r = new Random(23);
        int bsz = 2;
        int t = 19;
        int heads = 3;
        int hd = 24;
        int d = heads * hd;
        Tensor qkv = Fixtures.tensor(r, 1f, bsz, t, 3 * d);
        float[] v = qkv.toFloatArray();
        double[] want = new double[bsz * t * d];
        for (int bi = 0; bi < bsz; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        for (int e = 0; e < hd; e++) {
                            s[j] += (double) v[(bi * t + i) * 3 * d + h * hd + e] * v[(bi * t + j) * 3 * d + d + h * hd + e];
                        }
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < t; j++) {
                        for (int e = 0; e < hd; e++) {
                            want[(bi * t + i) * d + h * hd + e] += s[j] / sum * v[(bi * t + j) * 3 * d + 2 * d + h * hd + e];
                        }
                    }
                }
            }
        }
        try (KernelBackend b = Fixtures.open(path); DeviceTensor dq = b.upload(qkv); DeviceTensor y = b.attention(dq, heads)) {
            assertThat(y.shape().dims()).containsExactly(bsz, t, d);
            assertClose(b.download(y).toFloatArray(), want, 1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vector", "scalar"})
    void wrongInputsNameTheArgument(String path) {
        try (KernelBackend b = Fixtures.open(path); KernelBackend other = Fixtures.open(path)) {
            DeviceTensor x = b.upload(Tensor.ofFloats(new float[12], 3, 4));
            DeviceTensor foreign = other.upload(Tensor.ofFloats(new float[12], 3, 4));
            DeviceTensor ints = b.upload(Tensor.ofInts(new int[12], 3, 4));
            DeviceTensor v5 = b.upload(Tensor.ofFloats(new float[5], 5));
            expect(() -> b.gelu(foreign), "x");
            expect(() -> b.add(x, foreign), "b");
            expect(() -> b.gelu(ints), "x");
            expect(() -> b.smooth(x, v5), "divisor");
            expect(() -> b.shift(x, v5), "offset");
            expect(() -> b.gemm(x, v5), "w");
            expect(() -> b.attention(x, 2), "qkv");
            expect(() -> b.modulate(x, v5, v5), "x");
            expect(() -> b.rotate(x, Rotation.SylvesterHadamard.GLOBAL.outputDim(4) == 4
                    ? new Rotation.Dense(Tensor.ofFloats(new float[9], 3, 3), "q") : null), "rotation");
            DeviceQuantized q = b.quantize(x, QuantScheme.symmetric(8, Granularity.PER_TOKEN));
            DeviceQuantized q5 = b.quantize(b.upload(Tensor.ofFloats(new float[10], 2, 5)),
                    QuantScheme.symmetric(8, Granularity.PER_TOKEN));
            expect(() -> b.gemmAccumulate(q, q5), "w");
            expect(() -> b.gemmWeightOnly(v5, q), "x");
            expect(() -> b.quantizeStatic(x, QuantScheme.symmetric(8, Granularity.PER_TOKEN), 1f, 0), "static");
            DeviceQuantized badScales = new DeviceQuantized(q.codes(), v5, null, q.scheme());
            expect(() -> b.dequantize(badScales), "q.scales");
            DeviceQuantized nf4 = b.quantize(x, QuantScheme.nf4(4));
            expect(() -> b.gemmQuantized(q, nf4), "NF4");
            x.close();
            assertThatThrownBy(() -> b.gelu(x)).isInstanceOf(IllegalStateException.class).hasMessageContaining("x");
        }
    }

    static void expect(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String mention) {
        assertThatThrownBy(call).isInstanceOf(InvalidInputException.class).hasMessageContaining(mention);
    }

    @Test
    void providerIsDiscoveredAndProbeTellsTheFacts() {
        KernelBackendProvider p = dev.nibble.api.backend.Backends.available().stream()
                .filter(x -> x.id().equals("cpu")).findFirst().orElseThrow().provider();
        assertThat(p.priority()).isEqualTo(10);
        BackendProbe probe = p.probe();
        assertThat(probe.available()).isTrue();
        assertThat(probe.devices()).hasSize(1);
        assertThat(probe.devices().getFirst().id()).isEqualTo("cpu");
        assertThat(probe.details()).containsKeys("jdk", "cores", "threads", "species", "vectorBits", "path");
        // surefire runs with --add-modules jdk.incubator.vector: the vector path must be chosen
        assertThat(probe.details().get("path")).isEqualTo("vector");
        assertThat(probe.reason()).isEmpty();
        var dev = probe.devices().getFirst();
        for (Capability c : new Capability[] {new Capability.IntGemm(4, 4, true), new Capability.IntGemm(8, 8, false),
            new Capability.IntGemm(4, 8, true), new Capability.IntGemm(8, 4, true), new Capability.WeightOnlyGemm(DType.NF4),
            new Capability.LowRankBranch(64), new Capability.Rotate(Capability.RotationKind.DENSE), new Capability.DitOps(),
            new Capability.QuantizeNf4(), new Capability.FloatGemm(), new Capability.SmoothShift()}) {
            assertThat(dev.supports(c)).as(c.describe()).isTrue();
        }
        assertThat(dev.supports(new Capability.LowRankBranch(1000))).isFalse();
        try (KernelBackend b = p.open(dev, java.util.Map.of("threads", "3"))) {
            assertThat(((CpuKernelBackend) b).threads()).isEqualTo(3);
            assertThat(((CpuKernelBackend) b).path()).isEqualTo("vector");
        }
        try (KernelBackend b = p.open(dev, java.util.Map.of("scalar", "true"))) {
            assertThat(((CpuKernelBackend) b).path()).isEqualTo("scalar");
        }
        assertThatThrownBy(() -> p.open(dev, java.util.Map.of("threads", "zero"))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("threads");
    }

    @Test
    void allocateAndRoundTrip() {
        try (KernelBackend b = Fixtures.open("vector")) {
            for (DType t : DType.values()) {
                try (DeviceTensor d = b.allocate(t, Shape.of(3, 5))) {
                    Tensor h = b.download(d);
                    assertThat(h.dtype()).isEqualTo(t);
                    assertThat(h.shape()).isEqualTo(Shape.of(3, 5));
                    try (DeviceTensor back = b.upload(h)) {
                        assertThat(b.download(back).toByteArray()).isEqualTo(h.toByteArray());
                    }
                }
            }
            Tensor q = Quantizer.quantize(Tensor.ofFloats(new float[] {1, -2, 3}, 1, 3), QuantScheme.nf4(2)).codes();
            try (DeviceTensor d = b.upload(q)) {
                assertThat(b.download(d).toByteArray()).isEqualTo(q.toByteArray());
            }
        }
    }

}
