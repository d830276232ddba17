package dev.nibble.model.dit;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain single-threaded float32 host backend for model tests (the real backends live in their own
 * modules). Quantized layers run as quantize → dequantize → float GEMM with the api's canonical
 * quantizer; it also counts forward calls per step, so tests can see which step reached a layer.
 */
public final class HostBackend implements KernelBackend {
    /** Steps seen by PreparedLinear.forward, for tests. */
    public final java.util.List<Integer> stepsSeen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    /** Live device tensors (opened minus closed). */
    public final AtomicInteger live = new AtomicInteger();

    /** A host tensor standing in for device memory. */
    public final class HostTensor implements DeviceTensor {
        final Tensor t;
        boolean closed;

        HostTensor(Tensor t) {
            this.t = t;
            live.incrementAndGet();
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
            return "host";
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                live.decrementAndGet();
            }
        }
    }

    private Tensor h(DeviceTensor d) {
        HostTensor ht = (HostTensor) d;
        if (ht.closed) {
            throw new IllegalStateException("use after close");
        }
        return ht.t;
    }

    private HostTensor wrap(float[] v, Shape s) {
        return new HostTensor(Tensor.ofFloats(v, s.dims()));
    }

    @Override
    public DeviceInfo device() {
        return new DeviceInfo("host", "test host", -1, Set.of(), Map.of());
    }

    @Override
    public DeviceTensor upload(Tensor host) {
        return new HostTensor(host.copy());
    }

    @Override
    public Tensor download(DeviceTensor device) {
        return h(device).copy();
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        return new HostTensor(Tensor.allocate(dtype, shape));
    }

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        Tensor r = Hadamard.rotate(h(x), rotation);
        return new HostTensor(r.reshape(h(x).shape().withCols(r.shape().cols()).dims()));
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        float[] v = h(x).toFloatArray();
        float[] d = h(divisor).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] /= d[i % d.length];
        }
        return wrap(v, x.shape());
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        return add(x, offset);
    }

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        return upload(Quantizer.quantize(h(x), scheme));
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        return upload(Quantizer.quantizeStatic(h(x), scheme, scale, zeroPoint));
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        return new HostTensor(Quantizer.dequantize(download(q)));
    }

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        throw new UnsupportedOperationException("not needed by the model tests");
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
        try (DeviceTensor da = dequantize(a); DeviceTensor dw = dequantize(w)) {
            return gemm(da, dw);
        }
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        try (DeviceTensor dw = dequantize(w)) {
            return gemm(x, dw);
        }
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        Tensor xt = h(x);
        Tensor wt = h(w);
        int k = (int) xt.shape().cols();
        int m = (int) xt.shape().rows();
        int n = (int) wt.shape().dim(0);
        if (wt.shape().dim(1) != k) {
            throw new InvalidInputException("gemm: x has " + k + " columns, w is " + wt.shape());
        }
        float[] a = xt.toFloatArray();
        float[] b = wt.to(DType.F32).toFloatArray();
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int q = 0; q < k; q++) {
                    s += a[i * k + q] * b[j * k + q];
                }
                y[i * n + j] = s;
            }
        }
        return wrap(y, xt.shape().withCols(n));
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        Tensor dt = h(down).to(DType.F32);
        Tensor tr = transpose(dt);
        try (HostTensor dT = new HostTensor(tr); DeviceTensor mid = gemm(x, dT)) {
            return gemm(mid, up);
        }
    }

    private static Tensor transpose(Tensor t) {
        int r = (int) t.shape().dim(0);
        int c = (int) t.shape().dim(1);
        float[] v = t.toFloatArray();
        float[] o = new float[v.length];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                o[j * r + i] = v[i * c + j];
            }
        }
        return Tensor.ofFloats(o, c, r);
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        float[] x = h(a).toFloatArray();
        float[] y = h(b).toFloatArray();
        if (y.length != x.length && (y.length != a.shape().cols() || b.shape().rank() != 1)) {
            throw new InvalidInputException("add: " + a.shape() + " + " + b.shape());
        }
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i % y.length];
        }
        return wrap(x, a.shape());
    }

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        HostBackend self = this;
        return new PreparedLinear() {
            @Override
            public QuantizedLinear plan() {
                return plan;
            }

            @Override
            public DeviceTensor forward(DeviceTensor x, int step) {
                stepsSeen.add(step);
                if (x.shape().cols() != plan.inFeatures()) {
                    throw new InvalidInputException("layer " + plan.name() + ": input " + x.shape());
                }
                Tensor xt = h(x);
                Shape outShape = xt.shape().withCols(plan.outFeatures());
                Tensor v = xt;
                if (plan.smooth() != null) {
                    v = self.h(self.smooth(new HostTensor(v), new HostTensor(plan.smooth())));
                }
                if (plan.shift() != null) {
                    v = self.h(self.add(new HostTensor(v), new HostTensor(plan.shift())));
                }
                v = Hadamard.rotate(v, plan.rotation());
                Tensor xq = switch (plan.activation()) {
                    case ActivationQuant.None n -> v;
                    case ActivationQuant.Dynamic d -> Quantizer.dequantize(Quantizer.quantize(v, d.scheme()));
                    case ActivationQuant.StaticTable st -> Quantizer.dequantize(
                            Quantizer.quantizeStatic(v, st.scheme(), st.scale(step), st.zeroPoint(step)));
                };
                Tensor w = plan.weight() != null ? Quantizer.dequantize(plan.weight()) : plan.denseWeight();
                HostTensor xin = new HostTensor(xq.reshape(xq.shape().rows(), xq.shape().cols()));
                HostTensor win = new HostTensor(w);
                DeviceTensor y = gemm(xin, win);
                if (plan.lowRank() != null) {
                    DeviceTensor lr = self.lowRank(new HostTensor(v), new HostTensor(plan.lowRank().down()),
                            new HostTensor(plan.lowRank().up()));
                    y = add(y, lr);
                }
                if (plan.bias() != null) {
                    y = add(y, new HostTensor(plan.bias()));
                }
                return new HostTensor(h(y).reshape(outShape.dims()));
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
        float[] v = h(x).toFloatArray();
        int d = (int) x.shape().cols();
        for (int r = 0; r < v.length / d; r++) {
            float mean = 0;
            for (int i = 0; i < d; i++) {
                mean += v[r * d + i];
            }
            mean /= d;
            float var = 0;
            for (int i = 0; i < d; i++) {
                float z = v[r * d + i] - mean;
                var += z * z;
            }
            var /= d;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            for (int i = 0; i < d; i++) {
                v[r * d + i] = (v[r * d + i] - mean) * inv;
            }
        }
        return wrap(v, x.shape());
    }

    @Override
    public DeviceTensor gelu(DeviceTensor x) {
        float[] v = h(x).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            float z = v[i];
            v[i] = (float) (0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z))));
        }
        return wrap(v, x.shape());
    }

    @Override
    public DeviceTensor silu(DeviceTensor x) {
        float[] v = h(x).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / (1 + Math.exp(-v[i])));
        }
        return wrap(v, x.shape());
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        throw new UnsupportedOperationException("not needed by the model tests");
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        float[] v = h(x).toFloatArray();
        float[] sh = h(shift).toFloatArray();
        float[] sc = h(scale).toFloatArray();
        int d = (int) x.shape().dim(2);
        int t = (int) x.shape().dim(1);
        for (int i = 0; i < v.length; i++) {
            int b = i / (t * d);
            int j = i % d;
            v[i] = v[i] * (1 + sc[b * d + j]) + sh[b * d + j];
        }
        return wrap(v, x.shape());
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        float[] r = h(residual).toFloatArray();
        float[] g = h(gate).toFloatArray();
        float[] yy = h(y).toFloatArray();
        int d = (int) residual.shape().dim(2);
        int t = (int) residual.shape().dim(1);
        for (int i = 0; i < r.length; i++) {
            r[i] += g[(i / (t * d)) * d + i % d] * yy[i];
        }
        return wrap(r, residual.shape());
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        float[] v = h(qkv).toFloatArray();
        int b = (int) qkv.shape().dim(0);
        int t = (int) qkv.shape().dim(1);
        int d = (int) qkv.shape().dim(2) / 3;
        int dh = d / heads;
        float[] out = new float[b * t * d];
        float scale = (float) (1 / Math.sqrt(dh));
        float[] s = new float[t];
        for (int n = 0; n < b; n++) {
            for (int hh = 0; hh < heads; hh++) {
                for (int i = 0; i < t; i++) {
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        float dot = 0;
                        for (int e = 0; e < dh; e++) {
                            dot += v[(n * t + i) * 3 * d + hh * dh + e] * v[(n * t + j) * 3 * d + d + hh * dh + e];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    float sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = (float) Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int e = 0; e < dh; e++) {
                        float acc = 0;
                        for (int j = 0; j < t; j++) {
                            acc += s[j] * v[(n * t + j) * 3 * d + 2 * d + hh * dh + e];
                        }
                        out[(n * t + i) * d + hh * dh + e] = acc / sum;
                    }
                }
            }
        }
        return wrap(out, Shape.of(b, t, d));
    }

    @Override
    public void close() {
    }
}
