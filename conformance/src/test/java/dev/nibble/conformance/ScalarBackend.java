package dev.nibble.conformance;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.Capability.RotationKind;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.Map;
import java.util.Set;

/**
 * A plain float32 scalar backend for the kit's own tests, built on the API's canonical numerics
 * ({@link Quantizer}, {@link Hadamard}) and simple loops: independent of the kit's reference, so
 * the kit passing it cross-checks both.
 */
class ScalarBackend implements KernelBackend {
    static final Set<Capability> ALL = Set.of(new Capability.Rotate(RotationKind.REGULAR_HADAMARD),
            new Capability.Rotate(RotationKind.SYLVESTER_HADAMARD), new Capability.Rotate(RotationKind.DENSE),
            new Capability.SmoothShift(), new Capability.Quantize(4), new Capability.Quantize(8), new Capability.QuantizeNf4(),
            new Capability.IntGemm(4, 4, true), new Capability.IntGemm(8, 8, true), new Capability.IntGemm(8, 4, true), new Capability.IntGemm(4, 8, true), new Capability.WeightOnlyGemm(DType.U8),
            new Capability.WeightOnlyGemm(DType.INT4), new Capability.WeightOnlyGemm(DType.UINT4),
            new Capability.WeightOnlyGemm(DType.I8), new Capability.WeightOnlyGemm(DType.NF4), new Capability.FloatGemm(),
            new Capability.LowRankBranch(64), new Capability.DitOps());

    private final DeviceInfo device;

    ScalarBackend() {
        this(ALL);
    }

    ScalarBackend(Set<Capability> caps) {
        this.device = new DeviceInfo("scalar", "scalar test backend", -1, caps, Map.of());
    }

    /** Host memory posing as device memory; with pooling, freed storage is handed out again, dirty. */
    static final class Host implements DeviceTensor {
        private final Tensor t;
        private final ScalarBackend owner;
        private boolean closed;

        Host(Tensor t) {
            this(t, null);
        }

        Host(Tensor t, ScalarBackend owner) {
            this.t = t;
            this.owner = owner;
        }

        Tensor t() {
            return t;
        }

        @Override
        public DType dtype() {
            return t.dtype();
        }

        @Override
        public Shape shape() {
            return t.shape();
        }

        @Override
        public String deviceId() {
            return "scalar";
        }

        @Override
        public synchronized void close() {
            if (!closed && owner != null) {
                owner.recycle(t.data());
            }
            closed = true;
        }
    }

    private final java.util.Map<Long, java.util.ArrayDeque<java.lang.foreign.MemorySegment>> pool = new java.util.HashMap<>();
    private boolean pooling;

    /** @return this backend, recycling freed memory like a GPU caching allocator */
    ScalarBackend pooling() {
        this.pooling = true;
        return this;
    }

    private synchronized void recycle(java.lang.foreign.MemorySegment seg) {
        if (pooling) {
            pool.computeIfAbsent(seg.byteSize(), n -> new java.util.ArrayDeque<>()).push(seg);
        }
    }

    /** Storage for a result: recycled (dirty) when pooling, else zeroed. */
    synchronized Host fresh(DType dtype, Shape shape) {
        var q = pool.get(dtype.byteSize(shape));
        if (pooling && q != null && !q.isEmpty()) {
            return new Host(Tensor.wrap(dtype, shape, q.pop()), this);
        }
        return new Host(Tensor.allocate(dtype, shape), pooling ? this : null);
    }

    private static Tensor t(DeviceTensor d) {
        return ((Host) d).t();
    }

    private static float[] f32(DeviceTensor d, String what) {
        if (d.dtype() != DType.F32) {
            throw new InvalidInputException(what + " must be F32, got " + d.dtype());
        }
        return t(d).toFloatArray();
    }

    private static Host out(float[] v, Shape s) {
        return new Host(Tensor.ofFloats(v, s.dims()));
    }

    private void need(Capability c) {
        if (!supports(c)) {
            throw new dev.nibble.api.backend.UnsupportedCapabilityException("scalar", c);
        }
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public DeviceTensor upload(Tensor host) {
        Host h = fresh(host.dtype(), host.shape());
        java.lang.foreign.MemorySegment.copy(host.data(), 0, h.t().data(), 0, host.data().byteSize());
        return h;
    }

    @Override
    public Tensor download(DeviceTensor d) {
        return t(d).copy();
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        return new Host(Tensor.allocate(dtype, shape));
    }

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        float[] v = f32(x, "x");
        int k = (int) x.shape().cols();
        int rows = (int) x.shape().rows();
        int kp;
        try {
            kp = rotation.outputDim(k);
            return out(Hadamard.rotateRows(v, rows, k, rotation), x.shape().withCols(kp));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("rotate: " + e.getMessage());
        }
    }

    private static float[] perColumn(DeviceTensor x, DeviceTensor v, String what) {
        if (v.shape().elementCount() != x.shape().cols()) {
            throw new InvalidInputException(what + " has " + v.shape().elementCount() + " elements, x has " + x.shape().cols() + " columns");
        }
        return f32(v, what);
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        float[] d = perColumn(x, divisor, "divisor");
        float[] v = f32(x, "x");
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] / d[i % d.length];
        }
        return out(v, x.shape());
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        float[] d = perColumn(x, offset, "offset");
        float[] v = f32(x, "x");
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] + d[i % d.length];
        }
        return out(v, x.shape());
    }

    private static Tensor rows(DeviceTensor x) {
        return t(x).reshape(x.shape().rows(), x.shape().cols());
    }

    private static DeviceQuantized dev(QuantizedTensor q) {
        return new DeviceQuantized(new Host(q.codes()), new Host(q.scales()), q.zeros() == null ? null : new Host(q.zeros()), q.scheme());
    }

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        f32(x, "x");
        return dev(Quantizer.quantize(rows(x), scheme));
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        f32(x, "x");
        return dev(Quantizer.quantizeStatic(rows(x), scheme, scale, zeroPoint));
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        return new Host(Quantizer.dequantize(download(q)));
    }

    /** Unpacked codes minus zero points, per element. */
    private static int[] centered(QuantizedTensor q) {
        int[] c = q.codes().toIntArray();
        if (q.zeros() == null) {
            return c;
        }
        int[] z = q.zeros().toIntArray();
        int k = (int) q.shape().cols();
        for (int i = 0; i < c.length; i++) {
            c[i] -= z[paramIndex(q, i / k, i % k)];
        }
        return c;
    }

    private static int paramIndex(QuantizedTensor q, int row, int col) {
        QuantScheme s = q.scheme();
        return switch (s.granularity()) {
            case PER_TENSOR -> 0;
            case PER_CHANNEL, PER_TOKEN -> row;
            case PER_GROUP -> row * s.scalesPerRow(q.shape().cols()) + col / s.groupSize();
        };
    }

    private record Acc(int[] acc, int groups, int g, int m, int n) {
    }

    private Acc accumulate(DeviceQuantized da, DeviceQuantized dw) {
        QuantizedTensor a = download(da);
        QuantizedTensor w = download(dw);
        int k = (int) a.shape().cols();
        if (w.shape().cols() != k) {
            throw new InvalidInputException("activation codes have K=" + k + ", weight codes K=" + w.shape().cols());
        }
        boolean ga = a.scheme().granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        if (ga != gw || (ga && a.scheme().groupSize() != w.scheme().groupSize())) {
            throw new InvalidInputException("per-group GEMM needs both operands grouped with one group size");
        }
        int g = ga ? a.scheme().groupSize() : k;
        int groups = (k + g - 1) / g;
        int m = (int) a.shape().rows();
        int n = (int) w.shape().rows();
        int[] ca = centered(a);
        int[] cw = centered(w);
        int[] acc = new int[groups * m * n];
        for (int gi = 0; gi < groups; gi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int s = 0;
                    for (int c = gi * g; c < Math.min(k, gi * g + g); c++) {
                        s += ca[i * k + c] * cw[j * k + c];
                    }
                    acc[(gi * m + i) * n + j] = s;
                }
            }
        }
        return new Acc(acc, ga ? groups : 0, g, m, n);
    }

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        Acc r = accumulate(a, w);
        long[] shape = r.groups() > 0 ? new long[] {r.groups(), r.m(), r.n()} : new long[] {r.m(), r.n()};
        return new Host(Tensor.ofInts(r.acc(), shape));
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized da, DeviceQuantized dw) {
        Acc r = accumulate(da, dw);
        QuantizedTensor a = download(da);
        QuantizedTensor w = download(dw);
        float[] sa = a.scales().toFloatArray();
        float[] sw = w.scales().toFloatArray();
        float[] y = new float[r.m() * r.n()];
        int groups = Math.max(1, r.groups());
        for (int gi = 0; gi < groups; gi++) {
            for (int i = 0; i < r.m(); i++) {
                for (int j = 0; j < r.n(); j++) {
                    y[i * r.n() + j] += r.acc()[(gi * r.m() + i) * r.n() + j] * sa[paramIndex(a, i, gi * r.g())]
                            * sw[paramIndex(w, j, gi * r.g())];
                }
            }
        }
        return out(y, Shape.of(r.m(), r.n()));
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        return gemm(x, dequantize(w));
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        float[] xv = f32(x, "x");
        if (!w.dtype().isFloatingPoint() || w.shape().rank() != 2 || w.shape().cols() != x.shape().cols()) {
            throw new InvalidInputException("gemm: w " + w.dtype() + " " + w.shape() + " does not fit x " + x.shape());
        }
        float[] wv = t(w).toFloatArray();
        int k = (int) x.shape().cols();
        int m = (int) x.shape().rows();
        int n = (int) w.shape().dim(0);
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int c = 0; c < k; c++) {
                    s += xv[i * k + c] * wv[j * k + c];
                }
                y[i * n + j] = s;
            }
        }
        return out(y, x.shape().withCols(n));
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        if (down.shape().rank() != 2 || up.shape().rank() != 2 || down.shape().dim(1) != up.shape().dim(1)
                || down.shape().dim(0) != x.shape().cols()) {
            throw new InvalidInputException("lowRank: factors " + down.shape() + " / " + up.shape() + " do not fit x " + x.shape());
        }
        int k = (int) down.shape().dim(0);
        int r = (int) down.shape().dim(1);
        float[] d = t(down).toFloatArray();
        float[] dt = new float[r * k];
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < r; j++) {
                dt[j * k + c] = d[c * r + j];
            }
        }
        DeviceTensor tmp = gemm(x, out(dt, Shape.of(r, k)));
        return gemm(tmp, up);
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        float[] av = f32(a, "a");
        float[] bv = f32(b, "b");
        boolean same = a.shape().equals(b.shape());
        boolean row = b.shape().rank() == 1 && b.shape().dim(0) == a.shape().cols();
        if (!same && !row) {
            throw new InvalidInputException("add: b " + b.shape() + " does not fit a " + a.shape());
        }
        for (int i = 0; i < av.length; i++) {
            av[i] += bv[i % bv.length];
        }
        return out(av, a.shape());
    }

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        return new PreparedLinear() {
            @Override
            public QuantizedLinear plan() {
                return plan;
            }

            @Override
            public DeviceTensor forward(DeviceTensor x, int step) {
                if (x.dtype() != DType.F32 && x.dtype() != DType.BF16) {
                    throw new InvalidInputException("layer " + plan.name() + ": x must be F32 or BF16, got " + x.dtype());
                }
                if (x.shape().cols() != plan.inFeatures()) {
                    throw new InvalidInputException("layer " + plan.name() + ": x has " + x.shape().cols() + " columns, expected " + plan.inFeatures());
                }
                // BF16: widened exactly, the F32 path, the result rounded to nearest even
                DeviceTensor h = new Host(t(x).to(DType.F32).reshape(x.shape().rows(), x.shape().cols()));
                if (plan.smooth() != null) {
                    h = smooth(h, upload(plan.smooth()));
                }
                if (plan.shift() != null) {
                    h = shift(h, upload(plan.shift()));
                }
                h = rotate(h, plan.rotation());
                DeviceTensor y;
                if (plan.denseWeight() != null) {
                    y = gemm(h, upload(plan.denseWeight()));
                } else {
                    DeviceQuantized w = upload(plan.weight());
                    y = switch (plan.activation()) {
                        case ActivationQuant.None n -> gemmWeightOnly(h, w);
                        case ActivationQuant.Dynamic d -> gemmQuantized(quantize(h, d.scheme()), w);
                        case ActivationQuant.StaticTable st -> gemmQuantized(
                                quantizeStatic(h, st.scheme(), st.scale(step), st.zeroPoint(step)), w);
                    };
                }
                if (plan.lowRank() != null) {
                    y = add(y, lowRank(h, upload(plan.lowRank().down()), upload(plan.lowRank().up())));
                }
                if (plan.bias() != null) {
                    y = add(y, upload(plan.bias()));
                }
                return new Host(t(y).to(x.dtype()).reshape(x.shape().withCols(plan.outFeatures()).dims()));
            }

            @Override
            public long deviceBytes() {
                return plan.byteSize();
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public DeviceTensor layerNorm(DeviceTensor x, float eps) {
        need(new Capability.DitOps());
        float[] v = f32(x, "x");
        int d = (int) x.shape().cols();
        for (int r = 0; r < v.length / d; r++) {
            float mean = 0;
            for (int i = 0; i < d; i++) {
                mean += v[r * d + i];
            }
            mean /= d;
            float var = 0;
            for (int i = 0; i < d; i++) {
                float t = v[r * d + i] - mean;
                var += t * t;
            }
            var /= d;
            float inv = (float) (1 / Math.sqrt(var + eps));
            for (int i = 0; i < d; i++) {
                v[r * d + i] = (v[r * d + i] - mean) * inv;
            }
        }
        return out(v, x.shape());
    }

    @Override
    public DeviceTensor gelu(DeviceTensor x) {
        float[] v = f32(x, "x");
        for (int i = 0; i < v.length; i++) {
            float a = v[i];
            v[i] = 0.5f * a * (1f + (float) Math.tanh(0.7978845608f * (a + 0.044715f * a * a * a)));
        }
        return out(v, x.shape());
    }

    @Override
    public DeviceTensor silu(DeviceTensor x) {
        float[] v = f32(x, "x");
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] / (1f + (float) Math.exp(-v[i]));
        }
        return out(v, x.shape());
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        float[] v = f32(x, "x");
        int d = (int) x.shape().cols();
        for (int r = 0; r < v.length / d; r++) {
            float mx = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < d; i++) {
                mx = Math.max(mx, v[r * d + i]);
            }
            float sum = 0;
            for (int i = 0; i < d; i++) {
                v[r * d + i] = (float) Math.exp(v[r * d + i] - mx);
                sum += v[r * d + i];
            }
            for (int i = 0; i < d; i++) {
                v[r * d + i] /= sum;
            }
        }
        return out(v, x.shape());
    }

    private static void checkBd(DeviceTensor x, DeviceTensor p, String what) {
        if (x.shape().rank() != 3 || p.shape().rank() != 2 || p.shape().dim(0) != x.shape().dim(0) || p.shape().dim(1) != x.shape().dim(2)) {
            throw new InvalidInputException(what + " " + p.shape() + " does not fit x " + x.shape());
        }
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        checkBd(x, shift, "shift");
        checkBd(x, scale, "scale");
        float[] v = f32(x, "x");
        float[] sh = f32(shift, "shift");
        float[] sc = f32(scale, "scale");
        int t = (int) x.shape().dim(1);
        int d = (int) x.shape().dim(2);
        for (int i = 0; i < v.length; i++) {
            int p = i / (t * d) * d + i % d;
            v[i] = v[i] * (1 + sc[p]) + sh[p];
        }
        return out(v, x.shape());
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        checkBd(residual, gate, "gate");
        if (!y.shape().equals(residual.shape())) {
            throw new InvalidInputException("y " + y.shape() + " does not match residual " + residual.shape());
        }
        float[] r = f32(residual, "residual");
        float[] g = f32(gate, "gate");
        float[] yv = f32(y, "y");
        int t = (int) residual.shape().dim(1);
        int d = (int) residual.shape().dim(2);
        for (int i = 0; i < r.length; i++) {
            r[i] = r[i] + g[i / (t * d) * d + i % d] * yv[i];
        }
        return out(r, residual.shape());
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        if (qkv.shape().rank() != 3 || qkv.shape().dim(2) % 3 != 0 || heads <= 0 || (qkv.shape().dim(2) / 3) % heads != 0) {
            throw new InvalidInputException("attention: qkv " + qkv.shape() + " with " + heads + " heads");
        }
        float[] v = f32(qkv, "qkv");
        int b = (int) qkv.shape().dim(0);
        int t = (int) qkv.shape().dim(1);
        int d = (int) qkv.shape().dim(2) / 3;
        int hd = d / heads;
        float scale = (float) (1 / Math.sqrt(hd));
        float[] o = new float[b * t * d];
        float[] s = new float[t];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        float dot = 0;
                        for (int c = 0; c < hd; c++) {
                            dot += v[(bi * t + i) * 3 * d + h * hd + c] * v[(bi * t + j) * 3 * d + d + h * hd + c];
                        }
                        s[j] = dot * scale;
                        mx = Math.max(mx, s[j]);
                    }
                    float sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = (float) Math.exp(s[j] - mx);
                        sum += s[j];
                    }
                    for (int c = 0; c < hd; c++) {
                        float acc = 0;
                        for (int j = 0; j < t; j++) {
                            acc += s[j] * v[(bi * t + j) * 3 * d + 2 * d + h * hd + c];
                        }
                        o[(bi * t + i) * d + h * hd + c] = acc / sum;
                    }
                }
            }
        }
        return out(o, Shape.of(b, t, d));
    }

    @Override
    public void close() {
    }
}
