package dev.nibble.backend.cuda;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Any plan, composed from the primitive kernels (smooth, shift, rotate, quantize, GEMM, low rank,
 * bias): the path for what the fused kernels do not cover (affine or static activations, global or
 * dense rotations, weight-only and dense plans, F32 low-rank factors).
 */
final class GenericLinear implements PreparedLinear {
    private final CudaBackend b;
    private final QuantizedLinear plan;
    private final CudaTensor smooth;
    private final CudaTensor shift;
    private final DeviceQuantized weight;
    private final CudaTensor dense;
    private final CudaTensor down;
    private final CudaTensor up;
    private final CudaTensor bias;
    private final long bytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    GenericLinear(CudaBackend b, QuantizedLinear plan) {
        this.b = b;
        this.plan = plan;
        smooth = b.uploadF32(plan.smooth());
        shift = b.uploadF32(plan.shift());
        if (plan.weight() != null) {
            var w = plan.weight();
            weight = new DeviceQuantized(b.uploadRaw(w.codes()), b.uploadRaw(w.scales()),
                    w.zeros() == null ? null : b.uploadRaw(w.zeros()), w.scheme());
            dense = null;
        } else {
            weight = null;
            dense = b.uploadRaw(plan.denseWeight());
        }
        down = plan.lowRank() == null ? null : b.uploadRaw(plan.lowRank().down());
        up = plan.lowRank() == null ? null : b.uploadRaw(plan.lowRank().up());
        bias = b.uploadF32(plan.bias());
        long n = 0;
        for (CudaTensor t : new CudaTensor[] {smooth, shift, dense, down, up, bias}) {
            n += t == null ? 0 : t.bytes();
        }
        if (weight != null) {
            n += ((CudaTensor) weight.codes()).bytes() + ((CudaTensor) weight.scales()).bytes()
                    + (weight.zeros() == null ? 0 : ((CudaTensor) weight.zeros()).bytes());
        }
        bytes = n;
    }

    @Override
    public QuantizedLinear plan() {
        return plan;
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        synchronized (b.lock()) {
            b.enter();
            if (closed.get()) {
                throw new IllegalStateException("prepared layer '" + plan.name() + "' is closed");
            }
            CudaTensor given = b.activation(x, plan.name());
            if (given.dtype() == DType.BF16) {   // the F32 pipeline (which checks the shape) on the widened values, rounded back
                try (CudaTensor wide = b.widenBf16(given)) {
                    return b.roundBf16((CudaTensor) forward(wide, step));
                }
            }
            CudaTensor in = given;
            if (in.shape().cols() != plan.inFeatures()) {
                throw new InvalidInputException("layer '" + plan.name() + "': x has " + in.shape().cols()
                        + " columns, the layer takes " + plan.inFeatures());
            }
            CudaTensor xt = in;
            if (smooth != null) {
                xt = swap(xt, in, (CudaTensor) b.smooth(xt, smooth));
            }
            if (shift != null) {
                xt = swap(xt, in, (CudaTensor) b.shift(xt, shift));
            }
            if (!(plan.rotation() instanceof Rotation.Identity)) {
                xt = swap(xt, in, b.rotateLocked(xt, plan.rotation()));
            }
            CudaTensor y = switch (plan.activation()) {
                case ActivationQuant.Dynamic dyn -> {
                    try (DeviceQuantized q = b.quantizeLocked(xt, dyn.scheme())) {
                        yield (CudaTensor) b.gemmQuantized(q, weight);
                    }
                }
                case ActivationQuant.StaticTable st -> {
                    try (DeviceQuantized q = b.quantizeStaticLocked(xt, st.scheme(), st.scale(step), st.zeroPoint(step))) {
                        yield (CudaTensor) b.gemmQuantized(q, weight);
                    }
                }
                case ActivationQuant.None none -> weight != null
                        ? (CudaTensor) b.gemmWeightOnly(xt, weight)
                        : (CudaTensor) b.gemm(xt, dense);
            };
            if (down != null) {
                b.lowRankLocked(xt, down, up, y);
            }
            if (bias != null) {
                CudaTensor yb = b.addLocked(y, bias);
                y.close();
                y = yb;
            }
            if (xt != in) {
                xt.close();
            }
            return b.reshaped(y, in.shape().withCols(plan.outFeatures()));
        }
    }

    private static CudaTensor swap(CudaTensor old, CudaTensor input, CudaTensor next) {
        if (old != input) {
            old.close();
        }
        return next;
    }

    @Override
    public long deviceBytes() {
        return bytes;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (CudaTensor t : new CudaTensor[] {smooth, shift, dense, down, up, bias}) {
                if (t != null) {
                    t.close();
                }
            }
            if (weight != null) {
                weight.close();
            }
            b.forget(this);
        }
    }

    static boolean isFloat(DType t) {
        return t.isFloatingPoint();
    }
}
