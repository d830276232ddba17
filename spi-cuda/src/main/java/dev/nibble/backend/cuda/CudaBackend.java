package dev.nibble.backend.cuda;

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
import dev.nibble.backend.cuda.driver.Driver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CUDA backend on one device. Every operation runs on the device's primary context and the
 * default stream, under one lock (the driver serializes the stream anyway); kernels come from the
 * jar's cubin for the device's architecture, or its PTX.
 */
final class CudaBackend implements KernelBackend {
    private static final int ATTR_MAX_DYNAMIC_SMEM = 8;
    private static final int ATTR_PREFERRED_CARVEOUT = 9;
    static final int GEMM_SMEM = 3 * (128 + 128) * 128;

    private final Driver d;
    private final int ordinal;
    private final DeviceInfo info;
    private final int ccMajor;
    private final int smemOptin;
    private final Object lock = new Object();
    private final long context;
    private final long module;
    /** The sm_90a wgmma GEMM module, 0 when the device cannot use it (see {@link #wgmma()}). */
    private final long wgmmaModule;
    private final int smCount;
    private final Map<String, Long> functions = new HashMap<>();
    private final DevicePool pool;
    private final Set<CudaTensor> live = ConcurrentHashMap.newKeySet();
    private final Set<PreparedLinear> prepared = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    CudaBackend(Driver driver, int ordinal, DeviceInfo info) {
        this.d = driver;
        this.ordinal = ordinal;
        this.info = info;
        this.ccMajor = driver.attribute(ordinal, 75);
        int ccMinor = driver.attribute(ordinal, 76);
        // the opt-in limit less room for each kernel's static shared memory
        this.smemOptin = driver.attribute(ordinal, 97) - 8192;
        this.context = driver.retainPrimaryContext(ordinal);
        driver.setCurrent(context);
        long m;
        try {
            m = driver.loadModule(KernelImage.read(KernelImage.resourceFor(ccMajor, ccMinor)));
        } catch (RuntimeException e) {
            driver.releasePrimaryContext(ordinal);
            throw e;
        }
        this.module = m;
        this.smCount = driver.attribute(ordinal, 16);
        this.wgmmaModule = loadWgmma(driver, ccMajor, ccMinor, smemOptin);
        this.pool = new DevicePool(driver);
        for (String big : List.of("k_tq", "k_tq_lr", "k_attention", "k_regular_had", "k_sylv_had", "k_tq3h", "k_tq3p")) {
            driver.setFunctionAttribute(fn(big), ATTR_MAX_DYNAMIC_SMEM, smemOptin);
        }
        // k_tq3h: 4.75 KB per warp (k_tq3p 7 KB); the largest carveout keeps the most of their warps on an SM
        for (String tq : List.of("k_tq3h", "k_tq3p")) {
            driver.setFunctionAttribute(fn(tq), ATTR_PREFERRED_CARVEOUT, 100);
        }
        for (String g : List.of("k_gemm_i8", "k_gemm_i8_g", "k_gemm_i4", "k_gemm_i4_g", "k_gemm_s4", "k_gemm_s4_g")) {
            driver.setFunctionAttribute(fn(g), ATTR_MAX_DYNAMIC_SMEM, GEMM_SMEM);
        }
        if (wgmmaModule != 0) {
            for (String g : TensorCoreGemm.WGMMA_KERNELS) {
                driver.setFunctionAttribute(fn(g), ATTR_MAX_DYNAMIC_SMEM, TensorCoreGemm.wgmmaSmem(g));
            }
        }
    }

    /**
     * Loads the wgmma GEMM on a compute capability 9.0 device (unless -Dnibble.cuda.wgmma=false); a
     * device or driver that refuses the sm_90a image keeps the mma.sync GEMM, with a log line.
     */
    private static long loadWgmma(Driver driver, int major, int minor, int smemOptin) {
        var image = KernelImage.wgmmaFor(major, minor);
        if (image.isEmpty() || !Boolean.parseBoolean(System.getProperty("nibble.cuda.wgmma", "true"))
                || smemOptin < TensorCoreGemm.WGMMA_SMEM) {
            return 0;
        }
        try {
            return driver.loadModule(KernelImage.read(image.get()));
        } catch (RuntimeException e) {
            System.getLogger("dev.nibble.backend.cuda").log(System.Logger.Level.WARNING,
                    "the sm_90a wgmma GEMM did not load (" + e.getMessage() + "): the mma.sync GEMM is used");
            return 0;
        }
    }

    /** @return true when the sm_90a wgmma GEMM is loaded */
    boolean wgmma() {
        return wgmmaModule != 0;
    }

    /** @return the device's streaming multiprocessor count */
    int smCount() {
        return smCount;
    }

    Driver driver() {
        return d;
    }

    int computeMajor() {
        return ccMajor;
    }

    int sharedMemoryOptin() {
        return smemOptin;
    }

    Object lock() {
        return lock;
    }

    /** Makes the context current on the calling thread; callers hold {@link #lock}. */
    void enter() {
        if (closed) {
            throw new IllegalStateException("the CUDA backend " + id() + " is closed");
        }
        d.setCurrent(context);
    }

    private long fn(String name) {
        return functions.computeIfAbsent(name, n -> d.function(n.startsWith("k_wgmma") ? wgmmaModule : module, n));
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    // ---------------------------------------------------------------- memory

    CudaTensor alloc(DType dtype, Shape shape) {
        long bytes = dtype.byteSize(shape);
        long ptr = bytes == 0 ? 0 : pool.allocate(bytes);
        CudaTensor t = new CudaTensor(this, dtype, shape, ptr, bytes);
        live.add(t);
        return t;
    }

    void release(CudaTensor t) {
        synchronized (lock) {
            if (live.remove(t) && t.bytes() > 0 && !closed) {
                pool.release(t.ptr0());
            }
        }
    }

    CudaTensor t(DeviceTensor x, String arg) {
        if (x == null) {
            throw new InvalidInputException(arg + " is null");
        }
        if (!(x instanceof CudaTensor c) || c.owner() != this) {
            throw new InvalidInputException(arg + " (" + x + ") is not a tensor of " + id());
        }
        if (c.isClosed()) {
            throw new InvalidInputException(arg + " (" + x + ") is closed");
        }
        return c;
    }

    CudaTensor f32(DeviceTensor x, String arg) {
        CudaTensor c = t(x, arg);
        if (c.dtype() != DType.F32) {
            throw new InvalidInputException(arg + " must be F32, got " + c.dtype());
        }
        return c;
    }

    /**
     * An activation a prepared layer takes: F32, or BF16 (contract of PreparedLinear.forward: the
     * result has the same dtype).
     */
    CudaTensor activation(DeviceTensor x, String layer) {
        CudaTensor c = t(x, "x");
        if (c.dtype() != DType.F32 && c.dtype() != DType.BF16) {
            throw new InvalidInputException("layer '" + layer + "': x must be F32 or BF16, got " + c.dtype());
        }
        return c;
    }

    /** @return a new F32 tensor holding the BF16 values of x widened exactly */
    CudaTensor widenBf16(CudaTensor x) {
        long n = x.shape().elementCount();
        CudaTensor out = alloc(DType.F32, x.shape());
        elementwise("k_bf16_to_f32", n, out, x, n);
        return out;
    }

    /** @return a new BF16 tensor: x rounded to nearest even; closes x */
    CudaTensor roundBf16(CudaTensor x) {
        long n = x.shape().elementCount();
        CudaTensor out = alloc(DType.BF16, x.shape());
        try {
            elementwise("k_f32_to_bf16", n, out, x, n);
        } finally {
            x.close();
        }
        return out;
    }

    @Override
    public DeviceTensor upload(Tensor host) {
        if (host == null) {
            throw new InvalidInputException("upload of a null tensor");
        }
        synchronized (lock) {
            enter();
            CudaTensor t = alloc(host.dtype(), host.shape());
            if (t.bytes() > 0) {
                d.copyToDevice(t.ptr(), host.data(), t.bytes());
            }
            return t;
        }
    }

    @Override
    public Tensor download(DeviceTensor device) {
        synchronized (lock) {
            enter();
            CudaTensor c = t(device, "tensor");
            Tensor h = Tensor.allocate(c.dtype(), c.shape());
            if (c.bytes() > 0) {
                d.copyToHost(h.data(), c.ptr(), c.bytes());
            }
            return h;
        }
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        synchronized (lock) {
            enter();
            return alloc(dtype, shape);
        }
    }

    /** @return a copy of x with another shape of the same byte size */
    CudaTensor reshaped(CudaTensor x, Shape shape) {
        if (x.shape().equals(shape)) {
            return x;
        }
        CudaTensor o = alloc(x.dtype(), shape);
        if (o.bytes() > 0) {
            d.copyDeviceToDevice(o.ptr(), x.ptr(), o.bytes());
        }
        x.close();
        return o;
    }

    // ---------------------------------------------------------------- launching

    void launch(String name, int gx, int gy, int gz, int block, int smem, Object... args) {
        launchOn(0L, name, gx, gy, gz, block, smem, args);
    }

    /**
     * A second stream for work that runs beside the default stream's (k_lr_down beside the transform), with
     * the two events that join it: {@link #forkSide} before such work, {@link #joinSide} after it. Created on
     * first use, destroyed on close.
     */
    private long side;
    private long sideIn;
    private long sideDone;

    /** @return the side stream, which will run after everything submitted to the default stream so far */
    long forkSide() {
        if (side == 0) {
            side = d.createStream();
            sideIn = d.createSyncEvent();
            sideDone = d.createSyncEvent();
        }
        d.recordEvent(sideIn, 0L);
        d.streamWaitEvent(side, sideIn);
        return side;
    }

    /** The default stream's later work waits for everything submitted to the side stream so far. */
    void joinSide() {
        d.recordEvent(sideDone, side);
        d.streamWaitEvent(0L, sideDone);
    }

    void launchOn(long stream, String name, int gx, int gy, int gz, int block, int smem, Object... args) {
        d.launch(fn(name), new int[] {gx, gy, gz}, new int[] {block, 1, 1}, smem, slots(args), stream);
    }

    /**
     * As {@link #launch}, as a programmatic dependent launch (Driver#launchDependent): for a kernel that waits
     * (griddepcontrol.wait) before it reads what the kernel launched just before it on the default stream writes.
     */
    void launchDependent(String name, int gx, int gy, int gz, int block, int smem, Object... args) {
        d.launchDependent(fn(name), new int[] {gx, gy, gz}, new int[] {block, 1, 1}, smem, slots(args), 0L);
    }

    /** @return how many blocks of {@code name} with that many threads and dynamic shared memory one SM holds */
    int maxActiveBlocksPerSm(String name, int block, int smem) {
        return d.maxActiveBlocksPerSm(fn(name), block, smem);
    }

    private static long[] slots(Object[] args) {
        long[] slots = new long[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            slots[i] = switch (a) {
                case null -> 0L;
                case CudaTensor c -> c.ptr();
                case Long l -> l;
                case Integer n -> n & 0xFFFFFFFFL;
                case Float f -> Float.floatToRawIntBits(f) & 0xFFFFFFFFL;
                default -> throw new IllegalArgumentException("kernel argument " + a);
            };
        }
        return slots;
    }

    static int blocks(long n) {
        return (int) Math.max(1, Math.min((n + 255) / 256, 1L << 20));
    }

    void elementwise(String name, long n, Object... args) {
        if (n > 0) {
            launch(name, blocks(n), 1, 1, 256, 0, args);
        }
    }

    // ---------------------------------------------------------------- transforms

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        synchronized (lock) {
            enter();
            return rotateLocked(f32(x, "x"), rotation);
        }
    }

    CudaTensor rotateLocked(CudaTensor x, Rotation rotation) {
        long rows = x.shape().rows();
        int k = Math.toIntExact(x.shape().cols());
        int kp;
        try {
            kp = rotation.outputDim(k);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("rotate: " + e.getMessage());
        }
        CudaTensor out = alloc(DType.F32, x.shape().withCols(kp));
        elementwise("k_pad_rows", rows * kp, out, x, rows, k, kp);
        if (rows == 0) {
            return out;
        }
        switch (rotation) {
            case Rotation.Identity id -> { }
            case Rotation.RegularHadamard rh -> {
                int n = rh.blockSize();
                float scale = 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2));
                butterflies("k_regular_had", out, rows, kp, n, scale, n / 4);
            }
            case Rotation.SylvesterHadamard sh when sh.blockSize() != 0 ->
                    butterflies("k_sylv_had", out, rows, kp, sh.blockSize(), (float) (1.0 / Math.sqrt(sh.blockSize())),
                            sh.blockSize() / 2);
            case Rotation.SylvesterHadamard sh -> {
                int[] hk = HadamardMatrices.decompose(k);
                float scale = (float) (1.0 / Math.sqrt((double) hk[0] * hk[1]));
                if (hk[0] == 1) {
                    butterflies("k_sylv_had", out, rows, kp, hk[1], scale, hk[1] / 2);
                } else {
                    if (hk[1] > 1) {
                        butterflies("k_sylv_had", out, rows, kp, hk[1], 1f, hk[1] / 2);
                    }
                    int[][] h = HadamardMatrices.matrix(hk[0]);
                    byte[] hb = new byte[hk[0] * hk[0]];
                    for (int r = 0; r < hk[0]; r++) {
                        for (int c = 0; c < hk[0]; c++) {
                            hb[r * hk[0] + c] = (byte) h[r][c];
                        }
                    }
                    try (CudaTensor hm = (CudaTensor) uploadLocked(Tensor.ofBytes(DType.I8, hb, hb.length))) {
                        CudaTensor mixed = alloc(DType.F32, out.shape());
                        elementwise("k_hadk_mix", rows * kp, mixed, out, rows, hk[0], hk[1], hm, scale);
                        out.close();
                        out = mixed;
                    }
                }
            }
            case Rotation.Dense dense -> {
                try (CudaTensor q = (CudaTensor) uploadLocked(dense.matrix().to(DType.F32))) {
                    CudaTensor o2 = alloc(DType.F32, out.shape());
                    elementwise("k_dense_rot", rows * kp, o2, out, rows, k, q);
                    out.close();
                    out = o2;
                }
            }
        }
        return out;
    }

    private DeviceTensor uploadLocked(Tensor host) {
        CudaTensor t = alloc(host.dtype(), host.shape());
        if (t.bytes() > 0) {
            d.copyToDevice(t.ptr(), host.data(), t.bytes());
        }
        return t;
    }

    private void butterflies(String kernel, CudaTensor buf, long rows, int kp, int n, float scale, int work) {
        boolean smem = (long) n * 4 <= smemOptin;
        int threads = Math.max(32, Math.min(256, work));
        launch(kernel, Math.toIntExact(rows), kp / n, 1, threads, smem ? n * 4 : 0, buf, kp, n, scale, smem ? 1 : 0);
    }

    private CudaTensor binary(CudaTensor a, CudaTensor b, int op, String what) {
        long n = a.shape().elementCount();
        long nb = b.shape().elementCount();
        long cols = a.shape().cols();
        if (nb != n && nb != cols) {
            throw new InvalidInputException(what + ": operand of shape " + b.shape() + " fits neither " + a.shape()
                    + " nor a row of " + cols);
        }
        if (n > 0 && nb == 0) {
            throw new InvalidInputException(what + ": empty operand");
        }
        CudaTensor out = alloc(DType.F32, a.shape());
        elementwise("k_binary", n, out, a, b, n, nb, op);
        return out;
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor dv = f32(divisor, "divisor");
            if (dv.shape().elementCount() != xs.shape().cols()) {
                throw new InvalidInputException("smooth: divisor has " + dv.shape().elementCount()
                        + " elements, x has " + xs.shape().cols() + " columns");
            }
            return binary(xs, dv, 1, "smooth");
        }
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor o = f32(offset, "offset");
            if (o.shape().elementCount() != xs.shape().cols()) {
                throw new InvalidInputException("shift: offset has " + o.shape().elementCount()
                        + " elements, x has " + xs.shape().cols() + " columns");
            }
            return binary(xs, o, 0, "shift");
        }
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        synchronized (lock) {
            enter();
            return binary(f32(a, "a"), f32(b, "b"), 0, "add");
        }
    }

    CudaTensor addLocked(CudaTensor a, CudaTensor b) {
        return binary(a, b, 0, "add");
    }

    // ---------------------------------------------------------------- quantization

    /** Scale layout of a scheme on [rows, K]: {spr, gs}. */
    static int[] layout(QuantScheme s, int k) {
        return switch (s.granularity()) {
            case PER_TENSOR -> new int[] {0, Math.max(1, k)};
            case PER_CHANNEL, PER_TOKEN -> new int[] {1, Math.max(1, k)};
            case PER_GROUP -> new int[] {s.scalesPerRow(k), s.groupSize()};
        };
    }

    static Shape scaleShape(QuantScheme s, long rows, int k) {
        return switch (s.granularity()) {
            case PER_TENSOR -> Shape.of(1);
            case PER_CHANNEL, PER_TOKEN -> Shape.of(rows);
            case PER_GROUP -> Shape.of(rows, s.scalesPerRow(k));
        };
    }

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        synchronized (lock) {
            enter();
            return quantizeLocked(f32(x, "x"), scheme);
        }
    }

    DeviceQuantized quantizeLocked(CudaTensor x, QuantScheme s) {
        long rows = x.shape().rows();
        int k = Math.toIntExact(x.shape().cols());
        int[] lay = layout(s, k);
        int ng = s.granularity() == Granularity.PER_GROUP ? lay[0] : 1;
        Shape ss = scaleShape(s, rows, k);
        CudaTensor scales = alloc(DType.F32, ss);
        CudaTensor zeros = s.symmetric() ? null : alloc(DType.I32, ss);
        long nStats = Math.max(1, rows * ng);
        try (CudaTensor lo = alloc(DType.F32, Shape.of(nStats)); CudaTensor hi = alloc(DType.F32, Shape.of(nStats))) {
            d.memset(lo.ptr(), (byte) 0, lo.bytes());
            d.memset(hi.ptr(), (byte) 0, hi.bytes());
            if (rows > 0 && k > 0) {
                launch("k_qstats", Math.toIntExact(rows), ng, 1, 256, 0, x, k, lay[1], ng, lo, hi);
            }
            long nParams = ss.elementCount();
            if (s.granularity() == Granularity.PER_TENSOR) {
                try (CudaTensor lo1 = alloc(DType.F32, Shape.of(1)); CudaTensor hi1 = alloc(DType.F32, Shape.of(1))) {
                    launch("k_qstats_reduce", 1, 1, 1, 256, 0, lo, hi, rows * ng, lo1, hi1);
                    params(lo1, hi1, 1, scales, zeros, s);
                }
            } else {
                params(lo, hi, nParams, scales, zeros, s);
            }
        }
        CudaTensor codes = alloc(s.codeType(), Shape.of(rows, k));
        codes(x, rows, k, lay, scales, zeros, codes, s);
        return new DeviceQuantized(codes, scales, zeros, s);
    }

    private void params(CudaTensor lo, CudaTensor hi, long n, CudaTensor scales, CudaTensor zeros, QuantScheme s) {
        elementwise("k_qparams", n, lo, hi, n, scales, zeros, s.symmetric() ? 1 : 0,
                s.format() == QuantScheme.Format.NF4 ? 1 : 0, s.clipRatio(), s.qmin(), s.qmax());
    }

    private void codes(CudaTensor x, long rows, int k, int[] lay, CudaTensor scales, CudaTensor zeros, CudaTensor codes,
            QuantScheme s) {
        DType ct = s.codeType();
        long rb = ct.isPacked() ? (k + 1) / 2 : k;
        elementwise("k_qcodes", rows * rb, x, rows, k, lay[1], lay[0], scales, zeros, codes, ct.ordinal(), s.qmin(),
                s.qmax());
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        synchronized (lock) {
            enter();
            return quantizeStaticLocked(f32(x, "x"), scheme, scale, zeroPoint);
        }
    }

    DeviceQuantized quantizeStaticLocked(CudaTensor x, QuantScheme s, float scale, int zeroPoint) {
        if (s.granularity() != Granularity.PER_TENSOR) {
            throw new InvalidInputException("static quantization is per tensor, got " + s.describe());
        }
        long rows = x.shape().rows();
        int k = Math.toIntExact(x.shape().cols());
        CudaTensor scales = (CudaTensor) uploadLocked(Tensor.ofFloats(new float[] {scale}, 1));
        CudaTensor zeros = s.symmetric() ? null : (CudaTensor) uploadLocked(Tensor.ofInts(new int[] {zeroPoint}, 1));
        CudaTensor codes = alloc(s.codeType(), Shape.of(rows, k));
        CudaTensor zArg = zeros;
        if (zArg == null && zeroPoint != 0) {
            throw new InvalidInputException("a symmetric scheme has zero point 0, got " + zeroPoint);
        }
        codes(x, rows, k, new int[] {0, Math.max(1, k)}, scales, zArg, codes, s);
        return new DeviceQuantized(codes, scales, zeros, s);
    }

    CudaQ q(DeviceQuantized q, String arg) {
        if (q == null) {
            throw new InvalidInputException(arg + " is null");
        }
        CudaTensor c = t(q.codes(), arg + ".codes");
        CudaTensor s = f32(q.scales(), arg + ".scales");
        CudaTensor z = q.zeros() == null ? null : t(q.zeros(), arg + ".zeros");
        if (c.shape().rank() != 2) {
            throw new InvalidInputException(arg + ": codes must be [rows, K], got " + c.shape());
        }
        if (c.dtype() != q.scheme().codeType()) {
            throw new InvalidInputException(arg + ": codes are " + c.dtype() + ", scheme needs " + q.scheme().codeType());
        }
        int k = Math.toIntExact(c.shape().cols());
        long need = dev.nibble.api.QuantizedTensor.expectedScaleCount(c.shape(), q.scheme());
        if (s.shape().elementCount() != need) {
            throw new InvalidInputException(arg + ": " + need + " scales expected, got " + s.shape());
        }
        return new CudaQ(c, s, z, q.scheme(), layout(q.scheme(), k), k);
    }

    /** A validated quantized operand. */
    record CudaQ(CudaTensor codes, CudaTensor scales, CudaTensor zeros, QuantScheme scheme, int[] lay, int k) {
        long rows() {
            return codes.shape().dim(0);
        }
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        synchronized (lock) {
            enter();
            CudaQ c = q(q, "q");
            long rows = c.rows();
            CudaTensor out = alloc(DType.F32, Shape.of(rows, c.k()));
            elementwise("k_dequant", rows * c.k(), c.codes(), c.codes().dtype().ordinal(), rows, c.k(), c.lay()[1],
                    c.lay()[0], c.scales(), c.zeros(), out);
            return out;
        }
    }

    // ---------------------------------------------------------------- GEMMs

    /** {g, G} for the pair, per the contract: grouped when either operand is per group. */
    private static int[] groups(CudaQ a, CudaQ w) {
        boolean ga = a.scheme().granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        if (ga && gw && a.scheme().groupSize() != w.scheme().groupSize()) {
            throw new InvalidInputException("per-group operands need one group size: activation g="
                    + a.scheme().groupSize() + ", weight g=" + w.scheme().groupSize());
        }
        int k = a.k();
        if (!ga && !gw) {
            return new int[] {Math.max(1, k), 1};
        }
        int g = ga ? a.scheme().groupSize() : w.scheme().groupSize();
        return new int[] {g, (k + g - 1) / g};
    }

    private void checkPair(CudaQ a, CudaQ w) {
        if (a.k() != w.k()) {
            throw new InvalidInputException("GEMM: activation has K=" + a.k() + ", weight has K=" + w.k());
        }
        if (a.scheme().format() == QuantScheme.Format.NF4 || w.scheme().format() == QuantScheme.Format.NF4) {
            throw new InvalidInputException("integer GEMM of NF4 codes: use gemmWeightOnly");
        }
    }

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        synchronized (lock) {
            enter();
            CudaQ qa = q(a, "a");
            CudaQ qw = q(w, "w");
            checkPair(qa, qw);
            int[] gg = groups(qa, qw);
            int m = Math.toIntExact(qa.rows());
            int n = Math.toIntExact(qw.rows());
            boolean grouped = gg[1] > 1 || qa.scheme().granularity() == Granularity.PER_GROUP
                    || qw.scheme().granularity() == Granularity.PER_GROUP;
            CudaTensor out = alloc(DType.I32, grouped ? Shape.of(gg[1], m, n) : Shape.of(m, n));
            elementwise("k_gemm_acc", (long) m * n, qa.codes(), qa.codes().dtype().ordinal(), qa.lay()[0], qa.lay()[1],
                    qa.zeros(), qw.codes(), qw.codes().dtype().ordinal(), qw.lay()[0], qw.lay()[1], qw.zeros(), m, n,
                    qa.k(), gg[0], gg[1], out);
            return out;
        }
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
        synchronized (lock) {
            enter();
            CudaQ qa = q(a, "a");
            CudaQ qw = q(w, "w");
            checkPair(qa, qw);
            int m = Math.toIntExact(qa.rows());
            int n = Math.toIntExact(qw.rows());
            CudaTensor out = alloc(DType.F32, Shape.of(m, n));
            if (m == 0 || n == 0) {
                return out;
            }
            if (TensorCoreGemm.fits(qa, qw)) {
                TensorCoreGemm.run(this, qa, qw, out);
                return out;
            }
            int[] gg = groups(qa, qw);
            elementwise("k_gemm_q", (long) m * n, qa.codes(), qa.codes().dtype().ordinal(), qa.lay()[0], qa.lay()[1],
                    qa.zeros(), qa.scales(), qw.codes(), qw.codes().dtype().ordinal(), qw.lay()[0], qw.lay()[1],
                    qw.zeros(), qw.scales(), m, n, qa.k(), gg[0], gg[1], out);
            return out;
        }
    }

    /** out = x·wᵀ (+ bias) with w(n, k) at n·ldn + k·ldk (float) or canonical codes. */
    CudaTensor gemmF(CudaTensor x, int m, int n, int k, CudaTensor w, DType wdt, long ldn, long ldk, CudaQ codes,
            CudaTensor bias, CudaTensor into) {
        CudaTensor out = into != null ? into : alloc(DType.F32, Shape.of(m, n));
        if (m == 0 || n == 0) {
            return out;
        }
        if (k == 0) {
            d.memset(out.ptr(), (byte) 0, out.bytes());
            return out;
        }
        launch("k_gemm_f", (n + 63) / 64, (m + 63) / 64, 1, 256, 0, x, m, n, k, w, wdt.ordinal(), ldn, ldk,
                codes == null ? null : codes.scales(), codes == null ? null : codes.zeros(),
                codes == null ? 0 : codes.lay()[0], codes == null ? 1 : codes.lay()[1], bias, into != null ? 1 : 0,
                out);
        return out;
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaQ qw = q(w, "w");
            int k = Math.toIntExact(xs.shape().cols());
            if (k != qw.k()) {
                throw new InvalidInputException("gemmWeightOnly: x has K=" + k + ", weight has K=" + qw.k());
            }
            int m = Math.toIntExact(xs.shape().rows());
            int n = Math.toIntExact(qw.rows());
            return reshaped(gemmF(xs, m, n, k, qw.codes(), qw.codes().dtype(), 0, 0, qw, null, null),
                    xs.shape().withCols(n));
        }
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor ws = t(w, "w");
            if (!ws.dtype().isFloatingPoint() || ws.shape().rank() != 2) {
                throw new InvalidInputException("gemm: w must be a floating-point [N, K] matrix, got " + ws);
            }
            int k = Math.toIntExact(xs.shape().cols());
            if (ws.shape().dim(1) != k) {
                throw new InvalidInputException("gemm: x has K=" + k + ", w is " + ws.shape());
            }
            int n = Math.toIntExact(ws.shape().dim(0));
            return reshaped(gemmF(xs, Math.toIntExact(xs.shape().rows()), n, k, ws, ws.dtype(), k, 1, null, null, null),
                    xs.shape().withCols(n));
        }
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor y = lowRankLocked(xs, t(down, "down"), t(up, "up"), null);
            return reshaped(y, xs.shape().withCols(y.shape().cols()));
        }
    }

    CudaTensor lowRankLocked(CudaTensor x, CudaTensor down, CudaTensor up, CudaTensor into) {
        int k = Math.toIntExact(x.shape().cols());
        int m = Math.toIntExact(x.shape().rows());
        if (down.shape().rank() != 2 || up.shape().rank() != 2 || down.shape().dim(1) != up.shape().dim(1)
                || down.shape().dim(0) != k || !down.dtype().isFloatingPoint() || !up.dtype().isFloatingPoint()) {
            throw new InvalidInputException("lowRank: need down [K=" + k + ", r] and up [N, r] floating point, got "
                    + down + " and " + up);
        }
        int r = Math.toIntExact(down.shape().dim(1));
        int n = Math.toIntExact(up.shape().dim(0));
        try (CudaTensor t = gemmF(x, m, r, k, down, down.dtype(), 1, r, null, null, null)) {
            return gemmF(t, m, n, r, up, up.dtype(), r, 1, null, null, into);
        }
    }

    // ---------------------------------------------------------------- the fused path

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        if (plan == null) {
            throw new InvalidInputException("prepare: plan is null");
        }
        synchronized (lock) {
            enter();
            PreparedLinear p = FusedLinear.fits(this, plan) ? new FusedLinear(this, plan) : new GenericLinear(this, plan);
            prepared.add(p);
            return p;
        }
    }

    void forget(PreparedLinear p) {
        prepared.remove(p);
    }

    CudaTensor uploadF32(Tensor t) {
        return t == null ? null : (CudaTensor) uploadLocked(t.dtype() == DType.F32 ? t : t.to(DType.F32));
    }

    CudaTensor uploadRaw(Tensor t) {
        return t == null ? null : (CudaTensor) uploadLocked(t);
    }

    // ---------------------------------------------------------------- DiT ops

    @Override
    public DeviceTensor layerNorm(DeviceTensor x, float eps) {
        return rowOp("k_layernorm", x, eps);
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        return rowOp("k_softmax", x, null);
    }

    private DeviceTensor rowOp(String kernel, DeviceTensor x, Float eps) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            long rows = xs.shape().rows();
            int dd = Math.toIntExact(xs.shape().cols());
            CudaTensor out = alloc(DType.F32, xs.shape());
            if (rows > 0 && dd > 0) {
                if (eps != null) {
                    launch(kernel, Math.toIntExact(rows), 1, 1, 256, 0, out, xs, dd, eps);
                } else {
                    launch(kernel, Math.toIntExact(rows), 1, 1, 256, 0, out, xs, dd);
                }
            }
            return out;
        }
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
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor out = alloc(DType.F32, xs.shape());
            long n = xs.shape().elementCount();
            elementwise("k_unary", n, out, xs, n, op);
            return out;
        }
    }

    private long[] btd(CudaTensor x, CudaTensor perBatch, String what) {
        if (x.shape().rank() != 3) {
            throw new InvalidInputException(what + ": x must be [B, T, D], got " + x.shape());
        }
        long b = x.shape().dim(0);
        long tt = x.shape().dim(1);
        long dd = x.shape().dim(2);
        if (perBatch.shape().elementCount() != b * dd) {
            throw new InvalidInputException(what + ": per-batch operand must be [B, D] = [" + b + ", " + dd + "], got "
                    + perBatch.shape());
        }
        return new long[] {b, tt, dd};
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        synchronized (lock) {
            enter();
            CudaTensor xs = f32(x, "x");
            CudaTensor sh = f32(shift, "shift");
            CudaTensor sc = f32(scale, "scale");
            long[] s = btd(xs, sh, "modulate");
            btd(xs, sc, "modulate");
            CudaTensor out = alloc(DType.F32, xs.shape());
            long n = xs.shape().elementCount();
            elementwise("k_modulate", n, out, xs, sh, sc, s[1], s[2], n);
            return out;
        }
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        synchronized (lock) {
            enter();
            CudaTensor r = f32(residual, "residual");
            CudaTensor g = f32(gate, "gate");
            CudaTensor ys = f32(y, "y");
            long[] s = btd(r, g, "gatedAdd");
            if (!ys.shape().equals(r.shape())) {
                throw new InvalidInputException("gatedAdd: y " + ys.shape() + " differs from residual " + r.shape());
            }
            CudaTensor out = alloc(DType.F32, r.shape());
            long n = r.shape().elementCount();
            elementwise("k_gated_add", n, out, r, g, ys, s[1], s[2], n);
            return out;
        }
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        synchronized (lock) {
            enter();
            CudaTensor x = f32(qkv, "qkv");
            if (x.shape().rank() != 3 || x.shape().dim(2) % 3 != 0) {
                throw new InvalidInputException("attention: qkv must be [B, T, 3·D], got " + x.shape());
            }
            int b = Math.toIntExact(x.shape().dim(0));
            int tt = Math.toIntExact(x.shape().dim(1));
            int dd = Math.toIntExact(x.shape().dim(2) / 3);
            if (heads <= 0 || dd % heads != 0) {
                throw new InvalidInputException("attention: " + heads + " heads do not divide D=" + dd);
            }
            int hd = dd / heads;
            long smem = 4L * (hd + tt);
            if (smem > smemOptin) {
                throw new InvalidInputException("attention: T=" + tt + " needs " + smem
                        + " bytes of shared memory, the device has " + smemOptin);
            }
            CudaTensor out = alloc(DType.F32, Shape.of(b, tt, dd));
            if (b > 0 && tt > 0 && dd > 0) {
                launch("k_attention", tt, heads, b, 128, (int) smem, out, x, tt, heads, hd);
            }
            return out;
        }
    }

    // ---------------------------------------------------------------- lifetime

    /** @return {live bytes, cached bytes} of the pool */
    long[] poolBytes() {
        synchronized (lock) {
            return new long[] {pool.liveBytes(), pool.cachedBytes()};
        }
    }

    /** Returns the pool's cached blocks to the driver (after an out-of-memory episode, for instance). */
    void trimPool() {
        synchronized (lock) {
            pool.trim();
        }
    }

    @Override
    public void synchronize() {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("backend " + id() + " is closed");
            }
            d.setCurrent(context);
            d.synchronize();
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            d.setCurrent(context);
            for (PreparedLinear p : new ArrayList<>(prepared)) {
                p.close();
            }
            closed = true;
            try {
                d.synchronize();
            } finally {
                live.clear();
                pool.closeAll();
                if (side != 0) {
                    d.destroyEvent(sideIn);
                    d.destroyEvent(sideDone);
                    d.destroyStream(side);
                }
                d.unloadModule(module);
                if (wgmmaModule != 0) {
                    d.unloadModule(wgmmaModule);
                }
                d.releasePrimaryContext(ordinal);
            }
        }
    }
}
