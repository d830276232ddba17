package dev.nibble.backend.opencl;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.UnsupportedCapabilityException;
import dev.nibble.api.numerics.HadamardMatrices;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

/** The OpenCL implementation of the kernel contract on one device. */
final class OpenClBackend implements KernelBackend {
    private static final System.Logger LOG = System.getLogger(OpenClBackend.class.getName());

    // dtype codes of nibble.cl
    static final int T_F32 = 0;
    static final int T_F16 = 1;
    static final int T_BF16 = 2;

    private final ClDeviceFacts facts;
    private final DeviceInfo info;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final ClMemory memory;
    private final ClKernels kernels;
    private final ClDeviceFacts.DotProduct dot;
    private final String buildOptions;
    private final boolean programFromCache;
    /** CPU devices get the barrier-free F32 GEMM (option kernels=cpu|gpu overrides). */
    private final boolean cpuKernels;
    private final Map<Integer, ClTensor> hadamardMatrices = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    OpenClBackend(ClDeviceFacts facts, DeviceInfo probed, Map<String, String> options) {
        this.facts = facts;
        String cache = options.getOrDefault("cacheDir", System.getProperty("nibble.opencl.cacheDir"));
        Path cacheDir = cache == null || cache.isBlank() ? null : Path.of(cache);
        try {
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL.CL_CONTEXT_PLATFORM, facts.platform());
            context = CL.clCreateContext(props, 1, new cl_device_id[] {facts.device()}, null, null, null);
        } catch (CLException e) {
            throw new BackendUnavailableException(facts.id(), "clCreateContext failed: " + e.getMessage(),
                    OpenClBackendProvider.REMEDY);
        }
        try {
            @SuppressWarnings("deprecation")
            cl_command_queue q = CL.clCreateCommandQueue(context, facts.device(), 0, null);
            queue = q;
            // dot=portable|khr|dp4a overrides the choice (diagnostics; a flavour that fails to build falls back)
            ClDeviceFacts.DotProduct d = switch (options.getOrDefault("dot", "auto")) {
                case "portable" -> ClDeviceFacts.DotProduct.PORTABLE;
                case "khr" -> ClDeviceFacts.DotProduct.KHR_INTEGER_DOT_PRODUCT;
                case "dp4a" -> ClDeviceFacts.DotProduct.NVIDIA_DP4A;
                default -> facts.dotProduct();
            };
            // division=fp64 forces the double-precision quotient (a diagnostic: both paths must agree)
            boolean fp64 = "fp64".equals(options.get("division"));
            ClProgramBuilder.Built built;
            try {
                built = ClProgramBuilder.build(context, facts, ClProgramBuilder.options(facts, d, fp64), cacheDir);
            } catch (ClProgramBuilder.ClBuildException e) {
                if (d == ClDeviceFacts.DotProduct.PORTABLE) {
                    throw e;
                }
                LOG.log(System.Logger.Level.WARNING, "OpenCL: the " + d.label + " kernels did not build on " + facts.name()
                        + "; using the portable dot product. " + e.getMessage());
                d = ClDeviceFacts.DotProduct.PORTABLE;
                built = ClProgramBuilder.build(context, facts, ClProgramBuilder.options(facts, d, fp64), cacheDir);
            }
            dot = d;
            program = built.program();
            buildOptions = built.options();
            programFromCache = built.fromCache();
            cpuKernels = switch (options.getOrDefault("kernels", "auto")) {
                case "cpu" -> true;
                case "gpu" -> false;
                default -> facts.cpu();
            };
            memory = new ClMemory(context, facts.id());
            ClTensor dummy = memory.allocate(DType.I32, Shape.of(1));
            kernels = new ClKernels(program, queue, dummy);
        } catch (ClProgramBuilder.ClBuildException e) {
            CL.clReleaseContext(context);
            throw new BackendUnavailableException(facts.id(), e.getMessage(),
                    "report this with the build log; a newer driver may help");
        }
        Map<String, String> props = new LinkedHashMap<>(probed.properties());
        props.put("integerDotProduct", dot.label);
        props.put("buildOptions", buildOptions);
        props.put("programFromCache", Boolean.toString(programFromCache));
        props.put("gemmKernels", cpuKernels ? "CPU-shaped (no local memory): gemm_f32_cpu, qgemm_s8_cpu"
                : "tiled (64x64, local memory): gemm_f32, qgemm_s8");
        info = new DeviceInfo(probed.id(), probed.name(), probed.memoryBytes(), probed.capabilities(), props);
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    /** @return bytes of device memory held by live tensors of this backend */
    long allocatedBytes() {
        return memory.allocatedBytes();
    }

    /** @return the number of live buffers of this backend */
    int liveBuffers() {
        return memory.liveBuffers();
    }

    ClDeviceFacts.DotProduct dotProduct() {
        return dot;
    }

    ClKernels kernels() {
        return kernels;
    }

    // ---- helpers ----

    private void open() {
        if (closed.get()) {
            throw new IllegalStateException("the OpenCL backend on " + facts.id() + " is closed");
        }
    }

    ClTensor cl(DeviceTensor t, String what) {
        open();
        if (t == null) {
            throw new InvalidInputException(what + " is required");
        }
        if (!(t instanceof ClTensor c) || c.memory() != memory) {
            throw new InvalidInputException(what + " (" + t + ") does not belong to backend " + facts.id());
        }
        if (c.isClosed()) {
            throw new InvalidInputException(what + " (" + t + ") is closed");
        }
        return c;
    }

    private ClTensor f32(DeviceTensor t, String what) {
        ClTensor c = cl(t, what);
        if (c.dtype() != DType.F32) {
            throw new InvalidInputException(what + " must be F32, got " + c.dtype());
        }
        return c;
    }

    void require(Capability c) {
        if (!info.supports(c)) {
            throw new UnsupportedCapabilityException(facts.id(), c);
        }
    }

    static int rows(Shape s) {
        return Math.toIntExact(s.rank() <= 1 ? 1 : s.rows());
    }

    static int cols(Shape s) {
        return Math.toIntExact(s.cols());
    }

    static int checkedElements(Shape s, String what) {
        if (s.elementCount() > Integer.MAX_VALUE) {
            throw new InvalidInputException(what + " has " + s.elementCount() + " elements; the OpenCL kernels index with 32 bits");
        }
        return (int) s.elementCount();
    }

    static int typeCode(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case I8 -> 3;
            case U8 -> 4;
            case INT4 -> 5;
            case UINT4 -> 6;
            case NF4 -> 7;
            default -> throw new InvalidInputException("no OpenCL kernel reads " + t + " here");
        };
    }

    static int granCode(Granularity g) {
        return switch (g) {
            case PER_TENSOR -> 0;
            case PER_CHANNEL, PER_TOKEN -> 1;
            case PER_GROUP -> 2;
        };
    }

    ClTensor alloc(DType dtype, Shape shape) {
        open();
        return memory.allocate(dtype, shape);
    }

    // ---- memory ----

    @Override
    public DeviceTensor upload(Tensor host) {
        ClTensor t = alloc(host.dtype(), host.shape());
        long n = host.data().byteSize();
        if (n > 0) {
            write(t, host.data());
        }
        return t;
    }

    private void write(ClTensor t, MemorySegment seg) {
        long n = seg.byteSize();
        Pointer p;
        if (seg.isNative() && !seg.isReadOnly()) {
            p = Pointer.to(seg.asByteBuffer());
        } else {
            ByteBuffer direct = ByteBuffer.allocateDirect(Math.toIntExact(n));
            MemorySegment.ofBuffer(direct).copyFrom(seg);
            p = Pointer.to(direct);
        }
        CL.clEnqueueWriteBuffer(queue, t.mem(), true, 0, n, p, 0, null, null);
    }

    ClTensor uploadFloats(float[] v, long... dims) {
        return (ClTensor) upload(Tensor.ofFloats(v, dims));
    }

    ClTensor uploadInts(int[] v, long... dims) {
        return (ClTensor) upload(Tensor.ofInts(v, dims));
    }

    @Override
    public Tensor download(DeviceTensor device) {
        ClTensor t = cl(device, "tensor");
        Tensor host = Tensor.allocate(t.dtype(), t.shape());
        long n = host.data().byteSize();
        if (n > 0) {
            CL.clEnqueueReadBuffer(queue, t.mem(), true, 0, n, Pointer.to(host.data().asByteBuffer()), 0, null, null);
        }
        return host;
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        return alloc(dtype, shape);
    }

    /** Waits until every queued kernel has finished (benchmarks). */
    void finish() {
        CL.clFinish(queue);
    }

    @Override
    public void synchronize() {
        finish();
    }

    // ---- input transforms ----

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        ClTensor in = f32(x, "x");
        if (rotation == null) {
            throw new InvalidInputException("rotation is required");
        }
        int rows = rows(in.shape());
        int k = cols(in.shape());
        int kp;
        try {
            kp = rotation.outputDim(k);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("rotate: " + e.getMessage());
        }
        Shape outShape = in.shape().rank() == 0 ? Shape.of(kp) : in.shape().withCols(kp);
        checkedElements(outShape, "rotate output");
        ClTensor out = alloc(DType.F32, outShape);
        try {
            switch (rotation) {
                case Rotation.Identity id -> kernels.copy(in.mem(), out.mem(), in.bytes());
                case Rotation.RegularHadamard rh -> {
                    require(new Capability.Rotate(Capability.RotationKind.REGULAR_HADAMARD));
                    pad(in, out, rows, k, kp);
                    int n = rh.blockSize();
                    long blocks = (long) rows * kp / n;
                    int ls = (int) Math.min(Math.min(n / 4, 256), facts.maxWorkGroupSize());
                    float scale = 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2));
                    kernels.launch("regular_hadamard", new long[] {blocks * ls}, new long[] {ls}, out, n, scale,
                            new ClKernels.Local(4L * n));
                }
                case Rotation.SylvesterHadamard sh when sh.blockSize() != 0 -> {
                    require(new Capability.Rotate(Capability.RotationKind.SYLVESTER_HADAMARD));
                    pad(in, out, rows, k, kp);
                    int n = sh.blockSize();
                    kernels.launch1("sylvester_blocks", (long) rows * kp / n, out, (int) ((long) rows * kp / n), n,
                            (float) (1.0 / Math.sqrt(n)), 1);
                }
                case Rotation.SylvesterHadamard sh -> {
                    require(new Capability.Rotate(Capability.RotationKind.SYLVESTER_HADAMARD));
                    int[] hk = HadamardMatrices.decompose(k);
                    ClTensor h = hadamardMatrix(hk[0]);
                    try (ClTensor tmp = alloc(DType.F32, in.shape())) {
                        kernels.copy(in.mem(), tmp.mem(), in.bytes());
                        kernels.launch1("sylvester_blocks", (long) rows * hk[0], tmp, rows * hk[0], hk[1], 1f, 0);
                        kernels.launch1("sylvester_mix", (long) rows * hk[1], tmp, out, h, rows, hk[0], hk[1],
                                (float) (1.0 / Math.sqrt((double) hk[0] * hk[1])));
                    }
                }
                case Rotation.Dense d -> {
                    require(new Capability.Rotate(Capability.RotationKind.DENSE));
                    try (ClTensor q = (ClTensor) upload(d.matrix())) {
                        denseRotate(in, q, out, rows, k);
                    }
                }
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    void denseRotate(ClTensor in, ClTensor q, ClTensor out, int rows, int k) {
        kernels.launch1("dense_rotate", (long) rows * k, in, q, out, rows, k);
    }

    private void pad(ClTensor in, ClTensor out, int rows, int k, int kp) {
        kernels.launch1("pad_rows", (long) rows * kp, in, out, rows, k, kp);
    }

    private ClTensor hadamardMatrix(int order) {
        return hadamardMatrices.computeIfAbsent(order, o -> {
            int[][] h = HadamardMatrices.matrix(o);
            int[] flat = new int[o * o];
            for (int r = 0; r < o; r++) {
                System.arraycopy(h[r], 0, flat, r * o, o);
            }
            return uploadInts(flat, o, o);
        });
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        require(new Capability.SmoothShift());
        return channelOp(x, divisor, 1, "smooth");
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        require(new Capability.SmoothShift());
        return channelOp(x, offset, 0, "shift");
    }

    private DeviceTensor channelOp(DeviceTensor x, DeviceTensor v, int op, String what) {
        ClTensor a = f32(x, "x");
        ClTensor b = f32(v, what + " vector");
        if (b.shape().elementCount() != a.shape().cols()) {
            throw new InvalidInputException(what + ": the vector has " + b.shape().elementCount()
                    + " elements, x has " + a.shape().cols() + " columns");
        }
        return binary(a, b, op);
    }

    ClTensor binary(ClTensor a, ClTensor b, int op) {
        int n = checkedElements(a.shape(), "x");
        ClTensor y = alloc(DType.F32, a.shape());
        kernels.launch1("binary_op", n, a, b, y, n, (int) b.shape().elementCount(), op);
        return y;
    }

    // ---- quantization ----

    private void requireQuantize(QuantScheme s) {
        require(s.format() == QuantScheme.Format.NF4 ? new Capability.QuantizeNf4() : new Capability.Quantize(s.bits()));
    }

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        ClTensor in = f32(x, "x");
        requireQuantize(scheme);
        int rows = rows(in.shape());
        int k = cols(in.shape());
        checkedElements(in.shape(), "x");
        Granularity g = scheme.granularity();
        int spr = scheme.scalesPerRow(k);
        int gs = g == Granularity.PER_GROUP ? scheme.groupSize() : k;
        Shape ss = switch (g) {
            case PER_TENSOR -> Shape.of(1);
            case PER_CHANNEL, PER_TOKEN -> Shape.of(rows);
            case PER_GROUP -> Shape.of(rows, spr);
        };
        int segments = Math.toIntExact(ss.elementCount());
        ClTensor scales = alloc(DType.F32, ss);
        ClTensor zeros = alloc(DType.I32, ss);
        ClTensor codes = alloc(scheme.codeType(), Shape.of(rows, k));
        boolean nf4 = scheme.format() == QuantScheme.Format.NF4;
        kernels.launch("quant_params", new long[] {64L * segments}, new long[] {64}, in, rows, k, granCode(g), gs, spr,
                scheme.symmetric() ? 1 : 0, nf4 ? 1 : 0, scheme.clipRatio(), scheme.qmin(), scheme.qmax(),
                scheme.symmetricDivisor(), scales, zeros);
        codes(in, rows, k, g, gs, spr, scales, zeros, !scheme.symmetric(), scheme, codes);
        if (scheme.symmetric()) {
            zeros.close();
            zeros = null;
        }
        return new DeviceQuantized(codes, scales, zeros, scheme);
    }

    private void codes(ClTensor in, int rows, int k, Granularity g, int gs, int spr, ClTensor scales, ClTensor zeros,
            boolean hasZeros, QuantScheme scheme, ClTensor codes) {
        boolean packed = scheme.codeType().isPacked();
        long n = packed ? (long) rows * ((k + 1) / 2) : (long) rows * k;
        kernels.launch1("quant_codes", n, in, rows, k, granCode(g), gs, spr, scales, zeros, hasZeros ? 1 : 0,
                scheme.format() == QuantScheme.Format.NF4 ? 1 : 0, scheme.qmin(), scheme.qmax(), packed ? 1 : 0, codes);
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        ClTensor in = f32(x, "x");
        requireQuantize(scheme);
        if (scheme.granularity() != Granularity.PER_TENSOR) {
            throw new InvalidInputException("static quantization is per tensor, got " + scheme.describe());
        }
        int rows = rows(in.shape());
        int k = cols(in.shape());
        checkedElements(in.shape(), "x");
        ClTensor scales = uploadFloats(new float[] {scale}, 1);
        ClTensor zeros = uploadInts(new int[] {zeroPoint}, 1);
        ClTensor codes = alloc(scheme.codeType(), Shape.of(rows, k));
        // the host quantizer uses the given zero point even for symmetric schemes
        codes(in, rows, k, Granularity.PER_TENSOR, k, 1, scales, zeros, true, scheme, codes);
        if (scheme.symmetric()) {
            zeros.close();
            zeros = null;
        }
        return new DeviceQuantized(codes, scales, zeros, scheme);
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        QParts p = parts(q, "q");
        requireQuantize(q.scheme());
        ClTensor y = alloc(DType.F32, Shape.of(p.rows, p.k));
        kernels.launch1("dequantize", (long) p.rows * p.k, p.codes, p.type, p.rows, p.k, p.scales, p.zeros,
                p.zeros == null ? 0 : 1, p.gran, p.gs, p.spr, y);
        return y;
    }

    /** The device parts of a quantized tensor and its kernel parameters. */
    record QParts(ClTensor codes, ClTensor scales, ClTensor zeros, int type, int rows, int k, int gran, int gs, int spr,
            QuantScheme scheme) {
        /** @return the group size if per group, else 0 */
        int groupSize() {
            return gran == 2 ? gs : 0;
        }
    }

    QParts parts(DeviceQuantized q, String what) {
        if (q == null) {
            throw new InvalidInputException(what + " is required");
        }
        ClTensor codes = cl(q.codes(), what + ".codes");
        ClTensor scales = f32(q.scales(), what + ".scales");
        ClTensor zeros = q.zeros() == null ? null : cl(q.zeros(), what + ".zeros");
        QuantScheme s = q.scheme();
        if (codes.dtype() != s.codeType()) {
            throw new InvalidInputException(what + ": codes are " + codes.dtype() + " but the scheme " + s.describe()
                    + " stores " + s.codeType());
        }
        if (zeros != null && zeros.dtype() != DType.I32) {
            throw new InvalidInputException(what + ": zero points must be I32, got " + zeros.dtype());
        }
        int rows = rows(codes.shape());
        int k = cols(codes.shape());
        int spr = s.scalesPerRow(k);
        long expected = switch (s.granularity()) {
            case PER_TENSOR -> 1;
            case PER_CHANNEL, PER_TOKEN -> rows;
            case PER_GROUP -> (long) rows * spr;
        };
        if (scales.shape().elementCount() != expected) {
            throw new InvalidInputException(what + ": " + s.describe() + " on " + codes.shape() + " needs " + expected
                    + " scales, got " + scales.shape().elementCount());
        }
        if (zeros != null && zeros.shape().elementCount() != expected) {
            throw new InvalidInputException(what + ": needs " + expected + " zero points, got "
                    + zeros.shape().elementCount());
        }
        int gs = s.granularity() == Granularity.PER_GROUP ? s.groupSize() : k;
        return new QParts(codes, scales, zeros, typeCode(codes.dtype()), rows, k, granCode(s.granularity()), gs, spr, s);
    }

    // ---- GEMMs ----

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        return intGemm(parts(a, "a"), parts(w, "w"), 0, null);
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
        return intGemm(parts(a, "a"), parts(w, "w"), 1, null);
    }

    /** mode 0: int32 accumulators; mode 1: dequantized F32 (+ bias). */
    ClTensor intGemm(QParts a, QParts w, int mode, ClTensor bias) {
        if (a.scheme.format() == QuantScheme.Format.NF4 || w.scheme.format() == QuantScheme.Format.NF4) {
            throw new InvalidInputException("an integer GEMM needs integer codes; NF4 weights go through gemmWeightOnly");
        }
        if (a.k != w.k) {
            throw new InvalidInputException("gemm: a has K=" + a.k + ", w has K=" + w.k);
        }
        int ga = a.groupSize();
        int gw = w.groupSize();
        if (ga > 0 && gw > 0 && ga != gw) {
            throw new InvalidInputException("gemm: a and w are grouped with different sizes (" + ga + " and " + gw + ")");
        }
        int gs = Math.max(ga, gw);
        require(new Capability.IntGemm(a.scheme.bits(), w.scheme.bits(), gs > 0));
        int m = a.rows;
        int n = w.rows;
        int groups = gs > 0 ? (a.k + gs - 1) / gs : 1;
        ClTensor out = mode == 0
                ? alloc(DType.I32, gs > 0 ? Shape.of(groups, m, n) : Shape.of(m, n))
                : alloc(DType.F32, Shape.of(m, n));
        checkedElements(out.shape(), "gemm output");
        long[] global = {(n + 63L) / 64 * 16, (m + 63L) / 64 * 16};
        long[] local = {16, 16};
        boolean bytes = a.zeros == null && w.zeros == null && signedByte(a.codes.dtype()) && signedByte(w.codes.dtype());
        ClTensor accOut = mode == 0 ? out : null;
        ClTensor y = mode == 1 ? out : null;
        if (bytes && cpuKernels) {
            kernels.launch("qgemm_s8_cpu", new long[] {(n + 3L) / 4, (m + 3L) / 4}, null, a.codes, a.type, w.codes, w.type,
                    m, n, a.k, gs, mode, a.scales, a.gran, a.spr, w.scales, w.gran, w.spr, bias, bias == null ? 0 : 1,
                    accOut, y);
        } else if (bytes) {
            kernels.launch("qgemm_s8", global, local, a.codes, a.type, w.codes, w.type, m, n, a.k, gs, mode, a.scales,
                    a.gran, a.spr, w.scales, w.gran, w.spr, bias, bias == null ? 0 : 1, accOut, y);
        } else {
            kernels.launch("qgemm_generic", global, local, a.codes, a.type, a.zeros, a.zeros == null ? 0 : 1, w.codes,
                    w.type, w.zeros, w.zeros == null ? 0 : 1, m, n, a.k, gs, mode, a.scales, a.gran, a.spr, w.scales,
                    w.gran, w.spr, bias, bias == null ? 0 : 1, accOut, y);
        }
        return out;
    }

    private static boolean signedByte(DType t) {
        return t == DType.I8 || t == DType.INT4;
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        ClTensor in = f32(x, "x");
        QParts p = parts(w, "w");
        require(new Capability.WeightOnlyGemm(p.codes.dtype()));
        return weightOnly(in, p, null);
    }

    ClTensor weightOnly(ClTensor in, QParts p, ClTensor bias) {
        if (cols(in.shape()) != p.k) {
            throw new InvalidInputException("gemm: x has K=" + cols(in.shape()) + ", w has K=" + p.k);
        }
        int m = rows(in.shape());
        ClTensor y = alloc(DType.F32, outShape(in.shape(), p.rows));
        gemmLaunch(in, m, p.rows, p.k, p.codes, p.type, 0, p.scales, p.zeros, p.gran, p.gs, p.spr, bias, false, y);
        return y;
    }

    private static Shape outShape(Shape in, int n) {
        return in.rank() <= 1 ? Shape.of(n) : in.withCols(n);
    }

    void gemmLaunch(ClTensor x, int m, int n, int k, ClTensor w, int wtype, int wtrans, ClTensor ws, ClTensor wz,
            int wgran, int wgs, int wspr, ClTensor bias, boolean accumulate, ClTensor y) {
        checkedElements(y.shape(), "gemm output");
        if (cpuKernels && wtype == T_F32 && wtrans == 0) {
            kernels.launch("gemm_f32_cpu", new long[] {(n + 3L) / 4, (m + 3L) / 4}, null, x, m, n, k, w, bias,
                    bias == null ? 0 : 1, accumulate ? 1 : 0, y);
            return;
        }
        kernels.launch("gemm_f32", new long[] {(n + 63L) / 64 * 16, (m + 63L) / 64 * 16}, new long[] {16, 16}, x, m, n,
                k, w, wtype, wtrans, ws, wz, wz == null ? 0 : 1, wgran, wgs, wspr, bias, bias == null ? 0 : 1,
                accumulate ? 1 : 0, y);
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        require(new Capability.FloatGemm());
        ClTensor in = f32(x, "x");
        ClTensor wt = cl(w, "w");
        return dense(in, wt, null);
    }

    ClTensor dense(ClTensor in, ClTensor wt, ClTensor bias) {
        if (!wt.dtype().isFloatingPoint() || wt.shape().rank() != 2) {
            throw new InvalidInputException("gemm: w must be F32/F16/BF16 [N, K], got " + wt);
        }
        int k = cols(in.shape());
        int n = Math.toIntExact(wt.shape().dim(0));
        if (wt.shape().dim(1) != k) {
            throw new InvalidInputException("gemm: x has K=" + k + ", w is " + wt.shape());
        }
        ClTensor y = alloc(DType.F32, outShape(in.shape(), n));
        gemmLaunch(in, rows(in.shape()), n, k, wt, typeCode(wt.dtype()), 0, null, null, 0, 1, 1, bias, false, y);
        return y;
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        ClTensor in = f32(x, "x");
        ClTensor d = cl(down, "down");
        ClTensor u = cl(up, "up");
        if (d.shape().rank() != 2 || u.shape().rank() != 2 || d.shape().dim(1) != u.shape().dim(1)
                || !d.dtype().isFloatingPoint() || !u.dtype().isFloatingPoint()) {
            throw new InvalidInputException("lowRank: down [K, r] and up [N, r] floating point, got " + d + " and " + u);
        }
        require(new Capability.LowRankBranch(Math.toIntExact(d.shape().dim(1))));
        ClTensor y = alloc(DType.F32, outShape(in.shape(), Math.toIntExact(u.shape().dim(0))));
        try {
            lowRankInto(in, d, u, y, false);
        } catch (RuntimeException e) {
            y.close();
            throw e;
        }
        return y;
    }

    /** y (+)= (x·down)·upᵀ. */
    void lowRankInto(ClTensor in, ClTensor d, ClTensor u, ClTensor y, boolean accumulate) {
        int k = cols(in.shape());
        if (d.shape().dim(0) != k) {
            throw new InvalidInputException("lowRank: x has K=" + k + ", down is " + d.shape());
        }
        int m = rows(in.shape());
        int r = Math.toIntExact(d.shape().dim(1));
        int n = Math.toIntExact(u.shape().dim(0));
        try (ClTensor t = alloc(DType.F32, Shape.of(m, r))) {
            gemmLaunch(in, m, r, k, d, typeCode(d.dtype()), 1, null, null, 0, 1, 1, null, false, t);
            gemmLaunch(t, m, n, r, u, typeCode(u.dtype()), 0, null, null, 0, 1, 1, null, accumulate, y);
        }
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        ClTensor x = f32(a, "a");
        ClTensor v = f32(b, "b");
        if (!v.shape().equals(x.shape()) && v.shape().elementCount() != x.shape().cols()) {
            throw new InvalidInputException("add: b must have a's shape " + x.shape() + " or [" + x.shape().cols()
                    + "], got " + v.shape());
        }
        return binary(x, v, 0);
    }

    // ---- the fused path ----

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        open();
        return ClPreparedLinear.prepare(this, plan);
    }

    // ---- DiT operations ----

    @Override
    public DeviceTensor layerNorm(DeviceTensor x, float eps) {
        require(new Capability.DitOps());
        return rowOp("layer_norm", f32(x, "x"), eps);
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        require(new Capability.DitOps());
        return rowOp("softmax_rows", f32(x, "x"), null);
    }

    private DeviceTensor rowOp(String kernel, ClTensor in, Float eps) {
        int rows = rows(in.shape());
        int d = cols(in.shape());
        checkedElements(in.shape(), "x");
        ClTensor y = alloc(DType.F32, in.shape());
        if (d > 0) {
            if (eps == null) {
                kernels.launch(kernel, new long[] {64L * rows}, new long[] {64}, in, y, d);
            } else {
                kernels.launch(kernel, new long[] {64L * rows}, new long[] {64}, in, y, d, eps);
            }
        }
        return y;
    }

    @Override
    public DeviceTensor gelu(DeviceTensor x) {
        return unary(x, 0);
    }

    @Override
    public DeviceTensor silu(DeviceTensor x) {
        return unary(x, 1);
    }

    private DeviceTensor unary(DeviceTensor x, int op) {
        require(new Capability.DitOps());
        ClTensor in = f32(x, "x");
        int n = checkedElements(in.shape(), "x");
        ClTensor y = alloc(DType.F32, in.shape());
        kernels.launch1("unary_op", n, in, y, n, op);
        return y;
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        require(new Capability.DitOps());
        ClTensor in = f32(x, "x");
        int[] btd = btd(in, "modulate");
        ClTensor sh = perBatch(shift, "shift", btd);
        ClTensor sc = perBatch(scale, "scale", btd);
        ClTensor y = alloc(DType.F32, in.shape());
        kernels.launch1("adaln_op", (long) btd[0] * btd[1] * btd[2], in, sh, sc, y, btd[0], btd[1], btd[2], 0);
        return y;
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        require(new Capability.DitOps());
        ClTensor r = f32(residual, "residual");
        int[] btd = btd(r, "gatedAdd");
        ClTensor g = perBatch(gate, "gate", btd);
        ClTensor v = f32(y, "y");
        if (!v.shape().equals(r.shape())) {
            throw new InvalidInputException("gatedAdd: y has shape " + v.shape() + ", residual " + r.shape());
        }
        ClTensor out = alloc(DType.F32, r.shape());
        kernels.launch1("adaln_op", (long) btd[0] * btd[1] * btd[2], r, g, v, out, btd[0], btd[1], btd[2], 1);
        return out;
    }

    private static int[] btd(ClTensor x, String op) {
        if (x.shape().rank() != 3) {
            throw new InvalidInputException(op + ": x must be [B, T, D], got " + x.shape());
        }
        checkedElements(x.shape(), "x");
        return new int[] {(int) x.shape().dim(0), (int) x.shape().dim(1), (int) x.shape().dim(2)};
    }

    private ClTensor perBatch(DeviceTensor t, String what, int[] btd) {
        ClTensor c = f32(t, what);
        if (c.shape().elementCount() != (long) btd[0] * btd[2]) {
            throw new InvalidInputException(what + " must be [" + btd[0] + ", " + btd[2] + "], got " + c.shape());
        }
        return c;
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        require(new Capability.DitOps());
        ClTensor in = f32(qkv, "qkv");
        if (in.shape().rank() != 3 || in.shape().dim(2) % 3 != 0) {
            throw new InvalidInputException("attention: qkv must be [B, T, 3·D], got " + in.shape());
        }
        int b = (int) in.shape().dim(0);
        int t = (int) in.shape().dim(1);
        int d = (int) (in.shape().dim(2) / 3);
        if (heads <= 0 || d % heads != 0) {
            throw new InvalidInputException("attention: " + heads + " heads do not divide D=" + d);
        }
        checkedElements(in.shape(), "qkv");
        int hd = d / heads;
        ClTensor y = alloc(DType.F32, Shape.of(b, t, d));
        kernels.launch1("attention", (long) b * heads * t, in, y, b, t, heads, hd, (float) (1.0 / Math.sqrt(hd)));
        return y;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                CL.clFinish(queue);
            } finally {
                memory.releaseAll();
                hadamardMatrices.clear();
                kernels.close();
                CL.clReleaseProgram(program);
                CL.clReleaseCommandQueue(queue);
                CL.clReleaseContext(context);
            }
        }
    }

    @Override
    public String toString() {
        return "OpenClBackend[" + facts.id() + " " + facts.name() + ", " + dot.label + "]";
    }
}
