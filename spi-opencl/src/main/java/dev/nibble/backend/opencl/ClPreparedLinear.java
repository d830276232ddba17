package dev.nibble.backend.opencl;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A plan resident on an OpenCL device. forward: smooth, shift and rotate (one kernel each, only
 * when present), then either dynamic/static activation quantization and the integer GEMM with
 * dequantization and bias in its epilogue, or the float GEMM that dequantizes weights while loading
 * its tiles (bias in the epilogue); the low-rank branch accumulates into the output. BF16 x is
 * widened exactly to F32 by a kernel first, and the F32 result rounded to nearest even by another.
 */
final class ClPreparedLinear implements PreparedLinear {
    private final OpenClBackend backend;
    private final QuantizedLinear plan;
    private final ClTensor smooth;
    private final ClTensor shift;
    private final ClTensor denseRotation;
    private final DeviceQuantized weight;
    private final ClTensor denseWeight;
    private final ClTensor down;
    private final ClTensor up;
    private final ClTensor bias;
    private final List<ClTensor> held;
    private final AtomicBoolean closed = new AtomicBoolean();

    private ClPreparedLinear(OpenClBackend backend, QuantizedLinear plan, List<ClTensor> held, ClTensor smooth,
            ClTensor shift, ClTensor denseRotation, DeviceQuantized weight, ClTensor denseWeight, ClTensor down,
            ClTensor up, ClTensor bias) {
        this.backend = backend;
        this.plan = plan;
        this.held = held;
        this.smooth = smooth;
        this.shift = shift;
        this.denseRotation = denseRotation;
        this.weight = weight;
        this.denseWeight = denseWeight;
        this.down = down;
        this.up = up;
        this.bias = bias;
    }

    static ClPreparedLinear prepare(OpenClBackend b, QuantizedLinear plan) {
        for (Capability c : needs(plan)) {
            b.require(c);
        }
        List<ClTensor> held = new ArrayList<>();
        try {
            ClTensor smooth = plan.smooth() == null ? null : hold(held, b.upload(plan.smooth()));
            ClTensor shift = plan.shift() == null ? null : hold(held, b.upload(plan.shift()));
            ClTensor rot = plan.rotation() instanceof Rotation.Dense d ? hold(held, b.upload(d.matrix())) : null;
            DeviceQuantized w = null;
            ClTensor dw = null;
            if (plan.weight() != null) {
                w = b.upload(plan.weight());
                hold(held, w.codes());
                hold(held, w.scales());
                if (w.zeros() != null) {
                    hold(held, w.zeros());
                }
            } else {
                dw = hold(held, b.upload(plan.denseWeight()));
            }
            ClTensor down = plan.lowRank() == null ? null : hold(held, b.upload(plan.lowRank().down()));
            ClTensor up = plan.lowRank() == null ? null : hold(held, b.upload(plan.lowRank().up()));
            ClTensor bias = plan.bias() == null ? null : hold(held, b.upload(plan.bias()));
            return new ClPreparedLinear(b, plan, held, smooth, shift, rot, w, dw, down, up, bias);
        } catch (RuntimeException e) {
            held.forEach(ClTensor::close);
            throw e;
        }
    }

    private static ClTensor hold(List<ClTensor> held, DeviceTensor t) {
        ClTensor c = (ClTensor) t;
        held.add(c);
        return c;
    }

    /** @return the capabilities the plan needs */
    static List<Capability> needs(QuantizedLinear plan) {
        List<Capability> n = new ArrayList<>();
        if (plan.smooth() != null || plan.shift() != null) {
            n.add(new Capability.SmoothShift());
        }
        switch (plan.rotation()) {
            case Rotation.Identity i -> { }
            case Rotation.RegularHadamard r -> n.add(new Capability.Rotate(Capability.RotationKind.REGULAR_HADAMARD));
            case Rotation.SylvesterHadamard s -> n.add(new Capability.Rotate(Capability.RotationKind.SYLVESTER_HADAMARD));
            case Rotation.Dense d -> n.add(new Capability.Rotate(Capability.RotationKind.DENSE));
        }
        QuantScheme act = activationScheme(plan.activation());
        if (plan.weight() != null) {
            QuantScheme ws = plan.weight().scheme();
            if (act == null) {
                n.add(new Capability.WeightOnlyGemm(ws.codeType()));
            } else {
                if (ws.format() == QuantScheme.Format.NF4) {
                    throw new InvalidInputException("layer '" + plan.name()
                            + "': NF4 weights are weight-only; activations cannot be quantized with them");
                }
                n.add(act.format() == QuantScheme.Format.NF4 ? new Capability.QuantizeNf4()
                        : new Capability.Quantize(act.bits()));
                boolean grouped = act.granularity() == dev.nibble.api.Granularity.PER_GROUP
                        || ws.granularity() == dev.nibble.api.Granularity.PER_GROUP;
                n.add(new Capability.IntGemm(act.bits(), ws.bits(), grouped));
            }
        } else {
            n.add(new Capability.FloatGemm());
        }
        if (plan.lowRank() != null) {
            n.add(new Capability.LowRankBranch(plan.lowRank().rank()));
        }
        return n;
    }

    private static QuantScheme activationScheme(ActivationQuant a) {
        return switch (a) {
            case ActivationQuant.None n -> null;
            case ActivationQuant.Dynamic d -> d.scheme();
            case ActivationQuant.StaticTable s -> s.scheme();
        };
    }

    @Override
    public QuantizedLinear plan() {
        return plan;
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        if (closed.get()) {
            throw new IllegalStateException("layer '" + plan.name() + "' was closed");
        }
        ClTensor in = backend.cl(x, "x of layer '" + plan.name() + "'");
        if (in.dtype() != DType.F32 && in.dtype() != DType.BF16) {
            throw new InvalidInputException("layer '" + plan.name() + "': x must be F32 or BF16, got " + in.dtype() + " "
                    + in.shape());
        }
        if (in.shape().rank() == 0 || in.shape().cols() != plan.inFeatures()) {
            throw new InvalidInputException("layer '" + plan.name() + "': x has shape " + in.shape() + ", expected [..., "
                    + plan.inFeatures() + "]");
        }
        int m = OpenClBackend.rows(in.shape());
        boolean bf16 = in.dtype() == DType.BF16;
        List<ClTensor> temps = new ArrayList<>(4);
        try {
            ClTensor t = bf16 ? widen(in, m, temps) : in.shape().rank() == 2 ? in : view2d(in, m, temps);
            if (smooth != null) {
                t = temp(temps, backend.binary(t, smooth, 1));
            }
            if (shift != null) {
                t = temp(temps, backend.binary(t, shift, 0));
            }
            t = rotate(t, m, temps);
            ClTensor y = linear(t, step);
            if (down != null) {
                try {
                    backend.lowRankInto(t, down, up, y, true);
                } catch (RuntimeException e) {
                    y.close();
                    throw e;
                }
            }
            if (bf16) {
                ClTensor r = round(y, in.shape().withCols(plan.outFeatures()));
                y.close();
                return r;
            }
            if (in.shape().rank() != 2) {
                ClTensor r = reshape(y, in.shape().withCols(plan.outFeatures()));
                y.close();
                return r;
            }
            return y;
        } finally {
            temps.forEach(ClTensor::close);
        }
    }

    private ClTensor rotate(ClTensor t, int m, List<ClTensor> temps) {
        return switch (plan.rotation()) {
            case Rotation.Identity i -> t;
            case Rotation.Dense d -> {
                ClTensor out = temp(temps, backend.alloc(DType.F32, Shape.of(m, plan.inFeatures())));
                backend.denseRotate(t, denseRotation, out, m, plan.inFeatures());
                yield out;
            }
            default -> temp(temps, (ClTensor) backend.rotate(t, plan.rotation()));
        };
    }

    private ClTensor linear(ClTensor t, int step) {
        if (denseWeight != null) {
            return backend.dense(t, denseWeight, bias);
        }
        OpenClBackend.QParts w = backend.parts(weight, "weight of layer '" + plan.name() + "'");
        DeviceQuantized qa = switch (plan.activation()) {
            case ActivationQuant.None n -> null;
            case ActivationQuant.Dynamic d -> backend.quantize(t, d.scheme());
            case ActivationQuant.StaticTable s -> {
                if (s.steps() > 1 && (step < 0 || step >= s.steps())) {
                    throw new InvalidInputException("layer '" + plan.name() + "': step " + step
                            + " is outside its static table of " + s.steps() + " steps");
                }
                yield backend.quantizeStatic(t, s.scheme(), s.scale(step), s.zeroPoint(step));
            }
        };
        if (qa == null) {
            return backend.weightOnly(t, w, bias);
        }
        try {
            return backend.intGemm(backend.parts(qa, "activation codes"), w, 1, bias);
        } finally {
            qa.close();
        }
    }

    /** BF16 x widened exactly to an F32 [m, K] temporary: the F32 path runs on that. */
    private ClTensor widen(ClTensor in, int m, List<ClTensor> temps) {
        int n = OpenClBackend.checkedElements(in.shape(), "x of layer '" + plan.name() + "'");
        ClTensor f = temp(temps, backend.alloc(DType.F32, Shape.of(m, in.shape().cols())));
        backend.kernels().launch1("bf16_widen", n, in, f, n);
        return f;
    }

    /** The F32 result rounded to nearest even into a new BF16 tensor of the given shape. */
    private ClTensor round(ClTensor y, Shape shape) {
        int n = OpenClBackend.checkedElements(y.shape(), "output of layer '" + plan.name() + "'");
        ClTensor r = backend.alloc(DType.BF16, shape);
        try {
            backend.kernels().launch1("bf16_round", n, y, r, n);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    private ClTensor view2d(ClTensor in, int m, List<ClTensor> temps) {
        return temp(temps, reshape(in, Shape.of(m, in.shape().cols())));
    }

    /** A copy with another shape (buffers carry their shape; copies on the device are cheap). */
    private ClTensor reshape(ClTensor src, Shape shape) {
        ClTensor r = backend.alloc(src.dtype(), shape);
        backend.kernels().copy(src.mem(), r.mem(), src.bytes());
        return r;
    }

    private static ClTensor temp(List<ClTensor> temps, ClTensor t) {
        temps.add(t);
        return t;
    }

    @Override
    public long deviceBytes() {
        long n = 0;
        for (ClTensor t : held) {
            n += t.bytes();
        }
        return n;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            held.forEach(ClTensor::close);
        }
    }
}
