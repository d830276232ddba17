package dev.nibble.backend.cpu;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
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
import dev.nibble.api.numerics.HadamardMatrices;
import java.util.Objects;

/**
 * The CPU backend: tensors are Java arrays, kernels are {@link VectorKernels} (Vector API) or
 * {@link ScalarKernels}, work is spread over a {@link WorkerPool}. This class checks arguments and
 * converts between the canonical forms and the kernels' working forms.
 */
final class CpuKernelBackend implements KernelBackend {
    private final DeviceInfo device;
    private final WorkerPool pool;
    private final ScalarKernels kernels;
    private volatile boolean closed;

    CpuKernelBackend(DeviceInfo device, int threads, boolean vector) {
        this.device = device;
        this.pool = new WorkerPool(threads);
        this.kernels = vector ? VectorKernelsLoader.create(pool) : new ScalarKernels(pool);
    }

    /** @return "vector" or "scalar": the kernels in use */
    String path() {
        return kernels.path();
    }

    int threads() {
        return pool.threads();
    }

    ScalarKernels kernels() {
        return kernels;
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    // ---- argument checks ----

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the cpu backend is closed");
        }
    }

    CpuTensor own(DeviceTensor t, String name) {
        checkOpen();
        if (t == null) {
            throw new InvalidInputException(name + " is null");
        }
        if (!(t instanceof CpuTensor c) || c.owner() != this) {
            throw new InvalidInputException(name + " belongs to another backend (" + t.deviceId() + ", "
                    + t.getClass().getSimpleName() + "): upload it to this cpu backend first");
        }
        if (c.isClosed()) {
            throw new IllegalStateException(name + " was closed");
        }
        return c;
    }

    CpuTensor f32(DeviceTensor t, String name) {
        CpuTensor c = own(t, name);
        if (c.dtype() != DType.F32) {
            throw new InvalidInputException(name + " must be F32, got " + c.dtype() + " " + c.shape());
        }
        if (c.shape().rank() < 1) {
            throw new InvalidInputException(name + " must have at least one dimension, got a scalar");
        }
        return c;
    }

    CpuTensor vector(DeviceTensor t, String name, long n) {
        CpuTensor c = f32(t, name);
        if (c.shape().elementCount() != n || c.shape().rank() != 1) {
            throw new InvalidInputException(name + " must be F32 [" + n + "], got " + c.shape());
        }
        return c;
    }

    /** Checks a device quantized tensor and unpacks it into the kernels' working form. */
    Quantized unpack(DeviceQuantized q, String name) {
        if (q == null) {
            throw new InvalidInputException(name + " is null");
        }
        QuantScheme s = q.scheme();
        CpuTensor codes = own(q.codes(), name + ".codes");
        if (codes.dtype() != s.codeType()) {
            throw new InvalidInputException(name + ".codes are " + codes.dtype() + " but scheme " + s.describe()
                    + " needs " + s.codeType());
        }
        if (codes.shape().rank() < 1) {
            throw new InvalidInputException(name + ".codes must be [rows, K], got a scalar");
        }
        int rows = codes.rows();
        int k = codes.cols();
        CpuTensor scales = own(q.scales(), name + ".scales");
        long expected = dev.nibble.api.QuantizedTensor.expectedScaleCount(Shape.of(rows, k), s);
        if (scales.dtype() != DType.F32 || scales.shape().elementCount() != expected) {
            throw new InvalidInputException(name + ".scales must be F32 with " + expected + " elements for "
                    + s.describe() + " on [" + rows + ", " + k + "], got " + scales.dtype() + " " + scales.shape());
        }
        int[] zeros = null;
        if (!s.symmetric()) {
            if (q.zeros() == null) {
                throw new InvalidInputException(name + ".zeros are missing: affine scheme " + s.describe());
            }
            CpuTensor z = own(q.zeros(), name + ".zeros");
            if (z.dtype() != DType.I32 || z.shape().elementCount() != expected) {
                throw new InvalidInputException(name + ".zeros must be I32 with " + expected + " elements, got "
                        + z.dtype() + " " + z.shape());
            }
            zeros = z.ints().clone();
            checkZeros(zeros, s, name + ".zeros");
        }
        byte[] raw = codes.bytes();
        byte[] c = s.codeType().isPacked() ? unpackNibbles(raw, rows, k, s.codeType() == DType.INT4) : raw.clone();
        return new Quantized(c, scales.floats().clone(), zeros, s, rows, k);
    }

    /** Zero points outside the code range would break the exactness bounds of the integer GEMMs. */
    static void checkZeros(int[] zeros, QuantScheme s, String name) {
        for (int z : zeros) {
            if (z < s.qmin() || z > s.qmax()) {
                throw new InvalidInputException(name + " holds " + z + ", outside the code range [" + s.qmin() + ", "
                        + s.qmax() + "] of " + s.describe());
            }
        }
    }

    static byte[] unpackNibbles(byte[] packed, int rows, int k, boolean signed) {
        int rb = (k + 1) / 2;
        byte[] out = new byte[rows * k];
        for (int r = 0; r < rows; r++) {
            int o = r * k;
            int p = r * rb;
            for (int c = 0; c < k; c++) {
                int b = packed[p + (c >> 1)];
                int nib = (c & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
                out[o + c] = (byte) (signed ? (nib << 28) >> 28 : nib);
            }
        }
        return out;
    }

    static byte[] packNibbles(byte[] codes, int rows, int k) {
        int rb = (k + 1) / 2;
        byte[] out = new byte[rows * rb];
        for (int r = 0; r < rows; r++) {
            int o = r * k;
            int p = r * rb;
            for (int c = 0; c + 1 < k; c += 2) {
                out[p + (c >> 1)] = (byte) ((codes[o + c] & 0xF) | (codes[o + c + 1] & 0xF) << 4);
            }
            if ((k & 1) == 1) {
                out[p + rb - 1] = (byte) (codes[o + k - 1] & 0xF);
            }
        }
        return out;
    }

    /** Wraps the kernels' working form into canonical device tensors. */
    DeviceQuantized wrap(Quantized q) {
        QuantScheme s = q.scheme();
        Shape cs = Shape.of(q.rows(), q.k());
        byte[] bytes = s.codeType().isPacked() ? packNibbles(q.codes(), q.rows(), q.k()) : q.codes();
        Shape ss = switch (s.granularity()) {
            case PER_TENSOR -> Shape.of(1);
            case PER_CHANNEL, PER_TOKEN -> Shape.of(q.rows());
            case PER_GROUP -> Shape.of(q.rows(), q.scalesPerRow());
        };
        return new DeviceQuantized(CpuTensor.ofBytes(this, s.codeType(), cs, bytes),
                CpuTensor.ofFloats(this, ss, q.scales()),
                q.zeros() == null ? null : CpuTensor.ofInts(this, ss, q.zeros()), s);
    }

    /** The group length of a GEMM's output: the per-group operand's, or K for per-row/tensor pairs. */
    static int outputGroup(Quantized a, Quantized w) {
        if (a.k() != w.k()) {
            throw new InvalidInputException("w has K=" + w.k() + " columns but a has K=" + a.k());
        }
        if (a.scheme().format() == QuantScheme.Format.NF4 || w.scheme().format() == QuantScheme.Format.NF4) {
            throw new InvalidInputException("integer GEMM needs integer codes: NF4 "
                    + (a.scheme().format() == QuantScheme.Format.NF4 ? "a" : "w") + " goes through gemmWeightOnly");
        }
        boolean ga = a.scheme().granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        if (ga && gw && a.scheme().groupSize() != w.scheme().groupSize()) {
            throw new InvalidInputException("a and w are per-group with different group sizes ("
                    + a.scheme().groupSize() + " vs " + w.scheme().groupSize() + ")");
        }
        return ga ? a.scheme().groupSize() : gw ? w.scheme().groupSize() : Math.max(1, a.k());
    }

    static void checkRotation(Rotation rotation, int k, String name) {
        Objects.requireNonNull(rotation, "rotation");
        if (rotation instanceof Rotation.Dense d && d.matrix().shape().dim(0) != k) {
            throw new InvalidInputException("dense rotation of order " + d.matrix().shape().dim(0) + " applied to "
                    + name + " with rows of " + k);
        }
        if (rotation instanceof Rotation.SylvesterHadamard sh && sh.blockSize() == 0) {
            HadamardMatrices.decompose(k);
        }
    }

    // ---- memory ----

    @Override
    public DeviceTensor upload(Tensor host) {
        checkOpen();
        if (host == null) {
            throw new InvalidInputException("host tensor is null");
        }
        return CpuTensor.copyOf(this, host);
    }

    @Override
    public Tensor download(DeviceTensor device) {
        return own(device, "device").toHost();
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        checkOpen();
        if (dtype == null || shape == null) {
            throw new InvalidInputException("allocate needs a dtype and a shape");
        }
        return CpuTensor.allocate(this, dtype, shape);
    }

    // ---- input transforms ----

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        CpuTensor t = f32(x, "x");
        if (rotation == null) {
            throw new InvalidInputException("rotation is null");
        }
        int k = t.cols();
        checkRotation(rotation, k, "x");
        float[] y = kernels.rotate(t.floats(), t.rows(), k, rotation);
        return CpuTensor.ofFloats(this, t.shape().withCols(rotation.outputDim(k)), y);
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        CpuTensor t = f32(x, "x");
        CpuTensor d = vector(divisor, "divisor", t.cols());
        return CpuTensor.ofFloats(this, t.shape(), kernels.smooth(t.floats(), t.rows(), t.cols(), d.floats()));
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        CpuTensor t = f32(x, "x");
        CpuTensor o = vector(offset, "offset", t.cols());
        return CpuTensor.ofFloats(this, t.shape(), kernels.addRow(t.floats(), t.rows(), t.cols(), o.floats()));
    }

    // ---- quantization ----

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        CpuTensor t = own(x, "x");
        if (!t.dtype().isFloatingPoint() || t.shape().rank() < 1) {
            throw new InvalidInputException("x must be a floating-point [..., K] tensor, got " + t.dtype() + " " + t.shape());
        }
        if (scheme == null) {
            throw new InvalidInputException("scheme is null");
        }
        return wrap(kernels.quantize(t.asFloats(), t.rows(), t.cols(), scheme));
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        CpuTensor t = f32(x, "x");
        checkStatic(scheme, scale, zeroPoint);
        return wrap(kernels.quantizeStatic(t.floats(), t.rows(), t.cols(), scheme, scale, zeroPoint));
    }

    static void checkStatic(QuantScheme scheme, float scale, int zeroPoint) {
        if (scheme == null) {
            throw new InvalidInputException("scheme is null");
        }
        if (scheme.granularity() != Granularity.PER_TENSOR) {
            throw new InvalidInputException("static quantization is per tensor, got scheme " + scheme.describe());
        }
        if (scheme.format() != QuantScheme.Format.INT) {
            throw new InvalidInputException("static quantization needs integer codes, got " + scheme.describe());
        }
        if (!(scale >= 0f) || Float.isInfinite(scale)) {
            throw new InvalidInputException("scale must be finite and >= 0, got " + scale);
        }
        if (scheme.symmetric() ? zeroPoint != 0 : zeroPoint < scheme.qmin() || zeroPoint > scheme.qmax()) {
            throw new InvalidInputException("zeroPoint " + zeroPoint + " does not fit scheme " + scheme.describe());
        }
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        Quantized u = unpack(q, "q");
        return CpuTensor.ofFloats(this, Shape.of(u.rows(), u.k()), kernels.dequantize(u));
    }

    // ---- GEMMs ----

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        Quantized qa = unpack(a, "a");
        Quantized qw = unpack(w, "w");
        int g = outputGroup(qa, qw);
        int[] acc = kernels.accumulate(qa, qw, g);
        boolean grouped = qa.scheme().granularity() == Granularity.PER_GROUP
                || qw.scheme().granularity() == Granularity.PER_GROUP;
        Shape s = grouped ? Shape.of(Math.max(1, (qa.k() + g - 1) / g), qa.rows(), qw.rows()) : Shape.of(qa.rows(), qw.rows());
        return CpuTensor.ofInts(this, s, acc);
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
        Quantized qa = unpack(a, "a");
        Quantized qw = unpack(w, "w");
        int g = outputGroup(qa, qw);
        return CpuTensor.ofFloats(this, Shape.of(qa.rows(), qw.rows()), kernels.gemmQuantized(qa, qw, g));
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        CpuTensor t = f32(x, "x");
        Quantized qw = unpack(w, "w");
        if (t.cols() != qw.k()) {
            throw new InvalidInputException("x has " + t.cols() + " columns but w has K=" + qw.k());
        }
        float[] y = kernels.gemmWeightOnly(t.floats(), t.rows(), qw);
        return CpuTensor.ofFloats(this, t.shape().withCols(qw.rows()), y);
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        CpuTensor t = f32(x, "x");
        CpuTensor wt = own(w, "w");
        if (!wt.dtype().isFloatingPoint() || wt.shape().rank() != 2) {
            throw new InvalidInputException("w must be a floating-point [N, K] matrix, got " + wt.dtype() + " " + wt.shape());
        }
        if (wt.cols() != t.cols()) {
            throw new InvalidInputException("x has " + t.cols() + " columns but w is " + wt.shape());
        }
        float[] y = kernels.gemm(t.floats(), t.rows(), t.cols(), wt.asFloats(), wt.rows());
        return CpuTensor.ofFloats(this, t.shape().withCols(wt.rows()), y);
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        CpuTensor t = f32(x, "x");
        CpuTensor d = own(down, "down");
        CpuTensor u = own(up, "up");
        checkFactor(d, "down");
        checkFactor(u, "up");
        if (d.rows() != t.cols() || u.cols() != d.cols()) {
            throw new InvalidInputException("low-rank factors down " + d.shape() + " and up " + u.shape()
                    + " do not fit x with K=" + t.cols());
        }
        float[] y = lowRank(t.floats(), t.rows(), t.cols(), transpose(d.asFloats(), d.rows(), d.cols()),
                d.cols(), u.asFloats(), u.rows());
        return CpuTensor.ofFloats(this, t.shape().withCols(u.rows()), y);
    }

    private static void checkFactor(CpuTensor f, String name) {
        if (!f.dtype().isFloatingPoint() || f.shape().rank() != 2) {
            throw new InvalidInputException(name + " must be a floating-point matrix, got " + f.dtype() + " " + f.shape());
        }
    }

    /** {@code (x · down) · upᵀ} with down given transposed as {@code [r, K]}. */
    float[] lowRank(float[] x, int m, int k, float[] downT, int r, float[] up, int n) {
        float[] t = kernels.gemm(x, m, k, downT, r);
        return kernels.gemm(t, m, r, up, n);
    }

    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        CpuTensor ta = f32(a, "a");
        CpuTensor tb = f32(b, "b");
        if (tb.shape().equals(ta.shape())) {
            return CpuTensor.ofFloats(this, ta.shape(), kernels.add(ta.floats(), tb.floats()));
        }
        if (tb.shape().rank() == 1 && tb.shape().dim(0) == ta.cols()) {
            return CpuTensor.ofFloats(this, ta.shape(), kernels.addRow(ta.floats(), ta.rows(), ta.cols(), tb.floats()));
        }
        throw new InvalidInputException("b has shape " + tb.shape() + ": expected " + ta.shape() + " or [" + ta.cols() + "]");
    }

    // ---- the fused path ----

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        checkOpen();
        if (plan == null) {
            throw new InvalidInputException("plan is null");
        }
        return new CpuPreparedLinear(this, plan);
    }

    // ---- DiT operations ----

    @Override
    public DeviceTensor layerNorm(DeviceTensor x, float eps) {
        CpuTensor t = f32(x, "x");
        if (!(eps >= 0f)) {
            throw new InvalidInputException("eps must be >= 0, got " + eps);
        }
        return CpuTensor.ofFloats(this, t.shape(), kernels.layerNorm(t.floats(), t.rows(), t.cols(), eps));
    }

    @Override
    public DeviceTensor gelu(DeviceTensor x) {
        CpuTensor t = f32(x, "x");
        return CpuTensor.ofFloats(this, t.shape(), kernels.gelu(t.floats()));
    }

    @Override
    public DeviceTensor silu(DeviceTensor x) {
        CpuTensor t = f32(x, "x");
        return CpuTensor.ofFloats(this, t.shape(), kernels.silu(t.floats()));
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        CpuTensor t = f32(x, "x");
        return CpuTensor.ofFloats(this, t.shape(), kernels.softmax(t.floats(), t.rows(), t.cols()));
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        CpuTensor t = f32(x, "x");
        int[] btd = btd(t, "x");
        CpuTensor sh = batchVector(shift, "shift", btd);
        CpuTensor sc = batchVector(scale, "scale", btd);
        return CpuTensor.ofFloats(this, t.shape(),
                kernels.modulate(t.floats(), btd[0], btd[1], btd[2], sh.floats(), sc.floats()));
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        CpuTensor r = f32(residual, "residual");
        int[] btd = btd(r, "residual");
        CpuTensor g = batchVector(gate, "gate", btd);
        CpuTensor ty = f32(y, "y");
        if (!ty.shape().equals(r.shape())) {
            throw new InvalidInputException("y has shape " + ty.shape() + ", residual " + r.shape());
        }
        return CpuTensor.ofFloats(this, r.shape(),
                kernels.gatedAdd(r.floats(), btd[0], btd[1], btd[2], g.floats(), ty.floats()));
    }

    private static int[] btd(CpuTensor t, String name) {
        if (t.shape().rank() != 3) {
            throw new InvalidInputException(name + " must be [B, T, D], got " + t.shape());
        }
        int[] d = t.shape().toIntArray();
        return d;
    }

    private CpuTensor batchVector(DeviceTensor v, String name, int[] btd) {
        CpuTensor t = f32(v, name);
        if (t.shape().rank() != 2 || t.shape().dim(0) != btd[0] || t.shape().dim(1) != btd[2]) {
            throw new InvalidInputException(name + " must be [" + btd[0] + ", " + btd[2] + "], got " + t.shape());
        }
        return t;
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        CpuTensor t = f32(qkv, "qkv");
        if (t.shape().rank() != 3 || t.cols() % 3 != 0) {
            throw new InvalidInputException("qkv must be [B, T, 3·D], got " + t.shape());
        }
        int d = t.cols() / 3;
        if (heads <= 0 || d % heads != 0) {
            throw new InvalidInputException("heads = " + heads + " must divide D = " + d);
        }
        int b = Math.toIntExact(t.shape().dim(0));
        int tt = Math.toIntExact(t.shape().dim(1));
        return CpuTensor.ofFloats(this, Shape.of(b, tt, d), kernels.attention(t.floats(), b, tt, d, heads));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            pool.close();
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "CpuKernelBackend[" + kernels.path() + ", " + pool.threads() + " threads]";
    }
}
