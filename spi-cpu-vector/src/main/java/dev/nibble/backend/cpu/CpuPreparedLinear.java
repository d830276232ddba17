package dev.nibble.backend.cpu;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.UnsupportedCapabilityException;

/**
 * A {@link QuantizedLinear} laid out for the CPU kernels once, at prepare time: quantized weights
 * re-laid out by the kernels ({@link PackedWeight} on the vector path: column blocks, k-major, 4-bit
 * codes still packed), dense weights converted to F32 and packed, the low-rank down factor
 * transposed. {@link #forward} only reads this state, so concurrent calls are safe. BF16 activations
 * are widened to F32 on the way in and the F32 result is rounded to nearest even on the way out.
 */
final class CpuPreparedLinear implements PreparedLinear {
    static final int MAX_RANK = 256;

    private final CpuKernelBackend backend;
    private final QuantizedLinear plan;
    private final float[] smooth;
    private final float[] shift;
    private final Rotation rotation;
    private final Object weight; // laid out by the kernels for their GEMM (int, weight-only or dense)
    private final boolean dense;
    private final float[] downT;
    private final float[] up;
    private final int rank;
    private final float[] bias;
    private final int k;
    private final int kt;
    private final int n;
    private volatile boolean closed;

    CpuPreparedLinear(CpuKernelBackend backend, QuantizedLinear plan) {
        this.backend = backend;
        this.plan = plan;
        this.k = plan.inFeatures();
        this.n = plan.outFeatures();
        this.kt = plan.transformedInFeatures();
        this.rotation = plan.rotation();
        CpuKernelBackend.checkRotation(rotation, k, "layer '" + plan.name() + "'");
        this.smooth = plan.smooth() == null ? null : plan.smooth().toFloatArray();
        this.shift = plan.shift() == null ? null : plan.shift().toFloatArray();
        this.bias = plan.bias() == null ? null : plan.bias().toFloatArray();
        ActivationQuant act = plan.activation();
        if (plan.weight() != null) {
            QuantizedTensor w = plan.weight();
            QuantScheme ws = w.scheme();
            if (!(act instanceof ActivationQuant.None) && ws.format() == QuantScheme.Format.NF4) {
                throw new InvalidInputException("layer '" + plan.name()
                        + "': NF4 weights need floating-point activations (ActivationQuant.None)");
            }
            if (act instanceof ActivationQuant.Dynamic d && d.scheme().format() != QuantScheme.Format.INT) {
                throw new InvalidInputException("layer '" + plan.name() + "': activations need integer codes, got "
                        + d.scheme().describe());
            }
            Quantized quantWeight = fromHost(w);
            if (act instanceof ActivationQuant.Dynamic d) {
                CpuKernelBackend.outputGroup(new Quantized(new byte[0], new float[0], null, d.scheme(), 0, kt),
                        quantWeight);
            }
            this.weight = act instanceof ActivationQuant.None
                    ? backend.kernels().prepareWeightOnly(quantWeight)
                    : backend.kernels().prepareIntWeight(quantWeight);
            this.dense = false;
        } else {
            float[] w = plan.denseWeight().to(DType.F32).toFloatArray();
            this.dense = true;
            this.weight = backend.kernels().prepareDense(w, n, kt);
        }
        LowRank lr = plan.lowRank();
        if (lr != null) {
            if (lr.rank() > MAX_RANK) {
                throw new UnsupportedCapabilityException(backend.id(), new Capability.LowRankBranch(lr.rank()));
            }
            this.rank = lr.rank();
            this.downT = CpuKernelBackend.transpose(lr.down().to(DType.F32).toFloatArray(), kt, rank);
            this.up = lr.up().to(DType.F32).toFloatArray();
        } else {
            this.rank = 0;
            this.downT = null;
            this.up = null;
        }
    }

    private static Quantized fromHost(QuantizedTensor w) {
        int rows = Math.toIntExact(w.shape().rows());
        int cols = Math.toIntExact(w.shape().cols());
        byte[] raw = w.codes().toByteArray();
        byte[] codes = w.codes().dtype().isPacked()
                ? CpuKernelBackend.unpackNibbles(raw, rows, cols, w.codes().dtype() == DType.INT4) : raw;
        int[] zeros = w.zeros() == null ? null : w.zeros().toIntArray();
        if (zeros != null) {
            CpuKernelBackend.checkZeros(zeros, w.scheme(), "weight zero points");
        }
        return new Quantized(codes, w.scales().toFloatArray(), zeros, w.scheme(), rows, cols);
    }

    @Override
    public QuantizedLinear plan() {
        return plan;
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        if (closed) {
            throw new IllegalStateException("prepared layer '" + plan.name() + "' was closed");
        }
        CpuTensor t = activation(x);
        if (t.cols() != k) {
            throw new InvalidInputException("layer '" + plan.name() + "': x has " + t.cols() + " columns, expected K=" + k);
        }
        int m = t.rows();
        ScalarKernels kn = backend.kernels();
        boolean bf16 = t.dtype() == DType.BF16;
        float[] xt = bf16 ? kn.widenBf16(t.shorts()) : t.floats();
        if (smooth != null) {
            xt = kn.smooth(xt, m, k, smooth);
        }
        if (shift != null) {
            xt = kn.addRow(xt, m, k, shift);
        }
        if (!(rotation instanceof Rotation.Identity)) {
            xt = kn.rotate(xt, m, k, rotation);
        }
        float[] y = switch (plan.activation()) {
            case ActivationQuant.None none -> dense ? kn.gemmDensePrepared(xt, m, kt, weight, n) : kn.gemmWeightOnlyPrepared(xt, m, weight);
            case ActivationQuant.Dynamic d -> kn.gemmQuantizedPrepared(kn.quantize(xt, m, kt, d.scheme()), weight);
            case ActivationQuant.StaticTable st -> {
                if (st.steps() > 1 && (step < 0 || step >= st.steps())) {
                    throw new InvalidInputException("layer '" + plan.name() + "': step " + step
                            + " is outside its static table of " + st.steps() + " steps");
                }
                yield kn.gemmQuantizedPrepared(
                        kn.quantizeStatic(xt, m, kt, st.scheme(), st.scale(step), st.zeroPoint(step)), weight);
            }
        };
        if (downT != null) {
            float[] lr = backend.lowRank(xt, m, kt, downT, rank, up, n);
            y = kn.add(y, lr);
        }
        if (bias != null) {
            y = kn.addRow(y, m, n, bias);
        }
        Shape out = t.shape().withCols(n);
        return bf16 ? CpuTensor.ofBf16(backend, out, kn.roundBf16(y)) : CpuTensor.ofFloats(backend, out, y);
    }

    /** x of this backend, F32 or BF16, at least one dimension. */
    private CpuTensor activation(DeviceTensor x) {
        CpuTensor t = backend.own(x, "x of layer '" + plan.name() + "'");
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new InvalidInputException("layer '" + plan.name() + "': x must be F32 or BF16, got "
                    + t.dtype() + " " + t.shape());
        }
        if (t.shape().rank() < 1) {
            throw new InvalidInputException("layer '" + plan.name() + "': x must have at least one dimension, got a scalar");
        }
        return t;
    }

    @Override
    public long deviceBytes() {
        long b = dense ? 4L * ((float[]) weight).length : backend.kernels().preparedBytes(weight);
        for (float[] a : new float[][] {smooth, shift, bias, downT, up}) {
            b += a == null ? 0 : 4L * a.length;
        }
        return b;
    }

    @Override
    public void close() {
        closed = true;
    }
}
