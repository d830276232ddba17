package dev.nibble.backend.cuda;

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
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Int4Packing;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The fused path, two launches per forward (the Nunchaku/ConvRot shape):
 * <ol>
 *   <li>k_tq reads x once: smoothing, shift, grouped Hadamard, per-token or per-(token, group)
 *       scales, packed codes, and the low-rank down projection x_t·down;</li>
 *   <li>k_gemm_* multiplies the codes on tensor cores with the resident weight codes and writes the
 *       output once: dequantization, low-rank up projection and bias in the epilogue.</li>
 * </ol>
 * Weights are padded at prepare time to the kernel's K alignment (zero codes, zero scales).
 *
 * <p>The register path (k_tq2_s*, one warp per 256-column segment of a row, the Hadamard by shuffles)
 * takes every plan it {@link #registerPath fits}; the low-rank down projection then runs before it on
 * tensor cores (k_lr_down_r*, split over K; k_tq2 sums the splits), or, where k_tq3 runs, beside it on the backend's
 * side stream, and k_lr_sum sums the splits after both (same bytes). Other plans keep the shared-memory
 * k_tq / k_tq_lr.
 *
 * <p>BF16 activations (PreparedLinear's contract: BF16 in, BF16 out, equal to the rounded F32 result) are
 * read by k_tq2 / k_lr_down and written by the GEMM epilogue directly, so a BF16 forward moves half the
 * activation bytes; the shared-memory path widens x first. On compute capability 9.0, W4A4 with per-row
 * scales writes its 4-bit activation codes one per byte and runs k_wgmma_i4w, which unpacks only the weights.
 *
 * <p>Where k_tq3 runs and the tiled GEMM takes the weights ({@link TensorCoreGemm#tiled}: sm_90, per-row scales, W8A8
 * and W4A4), the weights are stored only in the {@link TiledOperands} layout and k_tq3 writes the activation codes
 * tiled, so the GEMM's stages are bulk copies (k_wgmma_*_t); for INT8 with few tiles the codes stay row-major and
 * k_wgmma_i8_n128_tw reads the tiled weights ({@link TensorCoreGemm#tiledPlan}). Same output bit for bit.
 *
 * <p>For W8A8 / W4A4 ConvRot at large M ({@link #tq3hWarps}, {@link #tq3hPays}) k_tq3h, k_tq3 specialised to that plan
 * (32 columns per lane), replaces k_tq3: same arguments and codes bit for bit, 10-21% faster there. With BF16 x its
 * persistent form k_tq3p runs ({@link #tqpBlocksPerSm}): each warp stages its next row while it quantizes this one. Both
 * let the tiled GEMM after them start early (a programmatic dependent launch: its launch and prologue under the
 * transform's tail; it waits for the transform before it reads the codes). k_tq3h is launched so itself, after
 * whatever kernel ran before it: its blocks take the SMs the previous kernel's last wave leaves idle and wait there
 * for it to complete before any load or store (griddepcontrol.wait), so its buffers and x are safe.
 */
final class FusedLinear implements PreparedLinear {
    private final CudaBackend b;
    private final QuantizedLinear plan;
    private final int bits;
    private final int kp;
    private final int kpad;
    private final boolean grouped;
    private final int gs;
    private final int gout;
    private final boolean replicate;
    private final int rot;
    private final int n0;
    private final float rscale;
    private final QuantScheme act;
    private final CudaTensor wcodes;
    private final CudaTensor wscales;
    private final CudaTensor smooth;
    private final CudaTensor shift;
    private final CudaTensor down;
    private final CudaTensor up;
    private final CudaTensor bias;
    private final int rank;
    /** the register path: segments per warp (1 or 2), 0 when the plan takes k_tq / k_tq_lr */
    private final int spw;
    /** rounds per warp of k_tq3 (1, 2), 0 when the register path runs k_tq2 */
    private final int tq3;
    /** the weights are tiled and the GEMM is k_wgmma_*_t; k_tq3 writes the activation codes tiled (TiledOperands) */
    private final boolean tiledGemm;
    /** shared memory per warp of k_tq3: two 16 x 16 transposes (TQ3_HALF = 16·20 + 16 floats each) */
    static final int TQ3_WARP_SMEM = 2 * (16 * 20 + 16) * 4;
    /** warps per row of k_tq3h (the ConvRot plan's kernel), 0 when k_tq3 (or k_tq2) runs */
    private final int tq3h;
    /** shared memory per warp of k_tq3h: four 8 x 32 transposes (TQH_SEG = 8·36 + 16 floats each) */
    static final int TQ3H_WARP_SMEM = 4 * (8 * 36 + 16) * 4;
    /** shared memory per warp of k_tq3p: k_tq3h's and the staging of a row's next 1024 BF16 columns (TQP_RAW_BF16) */
    static final int TQ3P_WARP_SMEM = TQ3H_WARP_SMEM + 576 * 4;
    /** k_tq3p blocks one SM holds (cuOccupancyMaxActiveBlocksPerMultiprocessor), found on first use; 0: not yet */
    private int tq3pMaxBlocks;
    /** k_tq3p for BF16 x where k_tq3h runs (-Dnibble.cuda.tq3p=false when the layer is prepared: k_tq3h) */
    private final boolean persistentTransform = Boolean.parseBoolean(System.getProperty("nibble.cuda.tq3p", "true"));
    /** the tiled GEMM by programmatic dependent launch after k_tq3h / k_tq3p (-Dnibble.cuda.pdl=false: plain launches) */
    private final boolean dependentLaunch = Boolean.parseBoolean(System.getProperty("nibble.cuda.pdl", "true"));
    private final int ln0;
    private final CudaTensor downHi;
    private final CudaTensor downLo;
    /** 1 / smooth for k_lr_down, and shift·down (k_lr_down reads x unshifted), k_tq2 adds it */
    private final CudaTensor invSmooth;
    private final CudaTensor lowRankBias;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** @return true if the plan can run on the fused kernels of this device */
    static boolean fits(CudaBackend b, QuantizedLinear plan) {
        if (!(plan.activation() instanceof ActivationQuant.Dynamic dyn) || plan.weight() == null) {
            return false;
        }
        QuantScheme a = dyn.scheme();
        QuantScheme w = plan.weight().scheme();
        if (!TensorCoreGemm.intSym(a) || !TensorCoreGemm.intSym(w) || a.bits() != w.bits()) {
            return false;
        }
        boolean ga = a.granularity() == Granularity.PER_GROUP;
        boolean gw = w.granularity() == Granularity.PER_GROUP;
        if (a.granularity() == Granularity.PER_TENSOR) {
            return false;
        }
        if (ga && gw && a.groupSize() != w.groupSize()) {
            return false;
        }
        if (ga || gw) {
            int g = ga ? a.groupSize() : w.groupSize();
            if (g % TensorCoreGemm.chunk(a.bits()) != 0) {
                return false;
            }
        }
        switch (plan.rotation()) {
            case Rotation.Identity i -> { }
            case Rotation.RegularHadamard r -> { }
            case Rotation.SylvesterHadamard s when s.blockSize() != 0 -> { }
            default -> {
                return false;
            }
        }
        if (plan.lowRank() != null) {
            DType u = plan.lowRank().up().dtype();
            int r = plan.lowRank().rank();
            if ((u != DType.BF16 && u != DType.F16) || r % 16 != 0 || r > 64 || r == 0) {
                return false;
            }
        }
        int kpad = pad(plan.transformedInFeatures(), a.bits());
        int g = ga ? a.groupSize() : gw ? w.groupSize() : kpad;
        return 4L * (kpad + 512) <= b.sharedMemoryOptin() && kpad / g <= 1024 && plan.inFeatures() > 0;
    }

    static int pad(int k, int bits) {
        int al = TensorCoreGemm.alignment(bits);
        return (k + al - 1) / al * al;
    }

    FusedLinear(CudaBackend b, QuantizedLinear plan) {
        this.b = b;
        this.plan = plan;
        act = ((ActivationQuant.Dynamic) plan.activation()).scheme();
        QuantizedTensor w = plan.weight();
        bits = act.bits();
        kp = plan.transformedInFeatures();
        kpad = pad(kp, bits);
        boolean ga = act.granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        grouped = ga || gw;
        gs = grouped ? (ga ? act.groupSize() : w.scheme().groupSize()) : kpad;
        gout = grouped ? kpad / gs : 1;
        replicate = grouped && !ga;
        switch (plan.rotation()) {
            case Rotation.RegularHadamard r -> {
                rot = 1;
                n0 = r.blockSize();
                rscale = 1f / (1 << (Integer.numberOfTrailingZeros(n0) / 2));
            }
            case Rotation.SylvesterHadamard s -> {
                rot = 2;
                n0 = s.blockSize();
                rscale = (float) (1.0 / Math.sqrt(n0));
            }
            default -> {
                rot = 0;
                n0 = 1;
                rscale = 1f;
            }
        }
        int n = plan.outFeatures();
        rank = plan.lowRank() == null ? 0 : plan.lowRank().rank();
        ln0 = Integer.numberOfTrailingZeros(n0);
        spw = registerPath(plan.inFeatures(), kpad, rot, n0, replicate ? kpad : gs, rank);
        tq3 = spw > 0 && !Boolean.getBoolean("nibble.cuda.tq2") ? tq3Rounds(kpad, rot, n0, replicate ? kpad : gs) : 0;
        tiledGemm = tq3 > 0 && TensorCoreGemm.tiled(b.wgmma(), bits, grouped, rank);
        tq3h = tq3 > 0 && !Boolean.getBoolean("nibble.cuda.tq3") ? tq3hWarps(plan.inFeatures(), kpad, rot, n0,
                replicate ? kpad : gs, plan.smooth() != null || plan.shift() != null, rank, act.clipRatio()) : 0;
        Tensor codes = padCodes(w.codes(), n, kp, kpad, bits);
        if (tiledGemm) {   // one layout only: the tiled kernels serve every M
            byte[] c = codes.toByteArray();
            codes = bits == 8
                    ? Tensor.ofBytes(DType.I8, TiledOperands.weightsInt8(c, n, kpad), TiledOperands.weightRows(n), kpad)
                    : Tensor.ofBytes(DType.INT4, TiledOperands.weightsInt4(c, n, kpad), TiledOperands.weightRows(n), kpad);
        }
        wcodes = b.uploadRaw(codes);
        wscales = b.uploadRaw(padScales(w, n, kp));
        smooth = b.uploadF32(plan.smooth());
        shift = b.uploadF32(plan.shift());
        bias = b.uploadF32(plan.bias());
        CudaTensor dh = null;
        CudaTensor dl = null;
        CudaTensor is = null;
        CudaTensor lb = null;
        if (plan.lowRank() == null) {
            down = null;
            up = null;
        } else {
            up = b.uploadRaw(plan.lowRank().up());
            if (spw > 0) {
                float[] d = plan.lowRank().down().toFloatArray();
                float[][] f = downFragments(d, kp, rank);
                down = null;
                dh = b.uploadRaw(Tensor.ofFloats(f[0], f[0].length));
                dl = f[1] == null ? null : b.uploadRaw(Tensor.ofFloats(f[1], f[1].length));
                if (plan.smooth() != null) {
                    float[] s = plan.smooth().toFloatArray();
                    float[] inv = new float[s.length];
                    for (int i = 0; i < s.length; i++) {
                        inv[i] = (float) (1.0 / s[i]);
                    }
                    is = b.uploadRaw(Tensor.ofFloats(inv, inv.length));
                }
                if (plan.shift() != null) {
                    lb = b.uploadRaw(Tensor.ofFloats(shiftTimesDown(plan.shift().toFloatArray(), d, rank), rank));
                }
            } else {
                down = b.uploadRaw(plan.lowRank().down());
            }
        }
        downHi = dh;
        downLo = dl;
        invSmooth = is;
        lowRankBias = lb;
    }

    /** @return o·down [r] in double, rounded once (the shift's share of x_t·down) */
    static float[] shiftTimesDown(float[] o, float[] down, int r) {
        float[] c = new float[r];
        for (int j = 0; j < r; j++) {
            double t = 0;
            for (int k = 0; k < o.length; k++) {
                t += (double) o[k] * down[k * r + j];
            }
            c[j] = (float) t;
        }
        return c;
    }

    /**
     * @return segments of 256 columns per warp of k_tq2 (1 up to 16 segments, 2 up to 32, else 4), or 0 where the plan needs the
     *     shared-memory kernels: K not a multiple of 4, rows over 16,384 codes, Hadamard blocks over 256,
     *     scale groups that are neither a power of two up to 256 nor a multiple of 256, or a low-rank
     *     branch behind a rotation (k_lr_down reads x without rotating it)
     */
    static int registerPath(int k, int kpad, int rot, int n0, int gs, int rank) {
        int segments = (kpad + 255) / 256;
        boolean groups = gs >= kpad || (gs <= 256 && gs >= 8 && Integer.bitCount(gs) == 1) || gs % 256 == 0;
        boolean lr = rank == 0 || (rot == 0 && rank % 16 == 0 && rank <= 64);
        if (k % 4 != 0 || segments > 64 || (rot != 0 && n0 > 256) || !groups || !lr) {
            return 0;
        }
        // measured on an H200: about 12 warps per row are best (fewer registers beat fewer warps per row)
        return segments <= 16 ? 1 : segments <= 32 ? 2 : 4;
    }

    /**
     * @return rounds (two 256-column segments each) per warp of k_tq3 (1 or 2), or 0 where the plan keeps k_tq2:
     *     a Sylvester (QuaRot) rotation, scale groups under 16 columns or over 256 but not the whole row, or more
     *     than 16 warps per row. Two rounds per warp with per-token scales from four rounds on, else one: the
     *     faster of the two on an NVIDIA H200 (docs/benchmarks.md)
     */
    static int tq3Rounds(int kpad, int rot, int n0, int gs) {
        boolean rotation = rot == 0 || (rot == 1 && Integer.numberOfTrailingZeros(n0) % 2 == 0);
        boolean token = gs >= kpad;
        boolean groups = token || (gs >= 16 && gs <= 256 && Integer.bitCount(gs) == 1);
        if (!rotation || !groups) {
            return 0;
        }
        int rounds = ((kpad + 255) / 256 + 1) / 2;
        int perWarp = (token && rounds >= 4) || rounds > 16 ? 2 : 1;
        return (rounds + perWarp - 1) / perWarp <= 16 ? perWarp : 0;
    }

    /**
     * @return warps per row of k_tq3h (one per 1024 columns, at most 16), or 0 where the plan keeps k_tq3: k_tq3h is
     *     the kernel of W8A8 / W4A4 ConvRot only (regular Hadamard 256, per-token scales, no smoothing, shift or
     *     low-rank branch, clip ratio &ge; 1, K % 8 = 0) and runs only with kpad a multiple of 1024 (otherwise a
     *     quarter or more of its lanes idle: 3-22% slower than k_tq3 at K = 1152 on an NVIDIA H200,
     *     docs/benchmarks/tq5.md). Called only where k_tq3 takes the plan
     */
    static int tq3hWarps(int k, int kpad, int rot, int n0, int gs, boolean smoothOrShift, int rank, float clip) {
        if (rot != 1 || n0 != 256 || gs < kpad || smoothOrShift || rank != 0 || !(clip >= 1f) || k % 8 != 0
                || kpad % 1024 != 0) {
            return 0;
        }
        int warps = kpad / 1024;
        return warps <= 16 ? warps : 0;
    }

    /**
     * @return whether k_tq3h beats k_tq3 for m rows: from m·kpad = 2^23 on (measured on an NVIDIA H200: 10-21% faster
     *     at 4096 x 3072, 4096 x 12288 and 1024 x 12288; 2-11% slower at 1024 x 3072 and M = 256, where fewer,
     *     longer warps leave the SMs idle; the threshold lies between those shapes)
     */
    static boolean tq3hPays(int kpad, int m) {
        return (long) m * kpad >= 1L << 23;
    }

    /**
     * {@code down} [kp, r] laid out as k_lr_down reads its mma B fragments: lane (g, t) = (lane / 4, lane % 4)
     * of n-tile nt, mma step st (0..3) and register e holds {@code down[chunk·32 + f(t, 2·st + e)][8·nt + g]}
     * with f(t, j) = 4t + j (j &lt; 4), 12 + 4t + j (j &ge; 4), at {@code ((chunk·2nt + 2·nt + st/2)·32 + lane)·4
     * + 2·(st % 2) + e} (one 16-byte load per lane, 512 contiguous bytes per warp), zero past kp; split into its
     * TF32 part (round to nearest, ties away) and the float remainder.
     *
     * @return {hi, lo}, lo null when every value is exact in TF32 (F16 and BF16 factors)
     */
    static float[][] downFragments(float[] down, int kp, int r) {
        int nts = r / 8;
        int chunks = (kp + 31) / 32;
        float[] hi = new float[chunks * 32 * nts * 8];
        float[] lo = new float[hi.length];
        boolean exact = true;
        for (int c = 0; c < chunks; c++) {
            for (int lane = 0; lane < 32; lane++) {
                int t = lane & 3;
                for (int nt = 0; nt < nts; nt++) {
                    for (int st = 0; st < 4; st++) {
                        for (int e = 0; e < 2; e++) {
                            int j = 2 * st + e;
                            int k = c * 32 + (j < 4 ? 4 * t + j : 12 + 4 * t + j);
                            float d = k < kp ? down[k * r + 8 * nt + (lane >> 2)] : 0f;
                            float h = Float.intBitsToFloat((Float.floatToRawIntBits(d) + 0x1000) & 0xFFFFE000);
                            int i = ((c * 2 * nts + 2 * nt + (st >> 1)) * 32 + lane) * 4 + 2 * (st & 1) + e;
                            hi[i] = h;
                            lo[i] = d - h;
                            exact &= lo[i] == 0f;
                        }
                    }
                }
            }
        }
        return new float[][] {hi, exact ? null : lo};
    }

    /** @return {splits, chunks per split} of k_lr_down: about 512 blocks, at most 32 splits */
    static int[] lowRankSplits(int m, int chunks) {
        int mb = (m + 63) / 64;
        int ks = Math.max(1, Math.min(Math.min(32, chunks), (512 + mb - 1) / mb));
        int cps = (chunks + ks - 1) / ks;
        return new int[] {(chunks + cps - 1) / cps, cps};
    }

    /** Canonical codes [N, kp] re-laid to [N, kpad] with zero codes in the padding. */
    static Tensor padCodes(Tensor codes, int n, int kp, int kpad, int bits) {
        if (bits == 8) {
            byte[] src = codes.toByteArray();
            byte[] out = new byte[n * kpad];
            for (int r = 0; r < n; r++) {
                System.arraycopy(src, r * kp, out, r * kpad, kp);
            }
            return Tensor.ofBytes(DType.I8, out, n, kpad);
        }
        int[] c = Int4Packing.unpack(codes.toByteArray(), n, kp, true);
        int[] p = new int[n * kpad];
        for (int r = 0; r < n; r++) {
            System.arraycopy(c, r * kp, p, r * kpad, kp);
        }
        return Tensor.ofBytes(DType.INT4, Int4Packing.pack(p, n, kpad), n, kpad);
    }

    /** Weight scales as the kernel reads them: [N] per row, or [N, kpad/g] per group (0 in the padding). */
    private Tensor padScales(QuantizedTensor w, int n, int kpIn) {
        float[] s = w.scales().toFloatArray();
        QuantScheme ws = w.scheme();
        if (!grouped) {
            if (ws.granularity() == Granularity.PER_TENSOR) {
                float[] o = new float[n];
                java.util.Arrays.fill(o, s[0]);
                return Tensor.ofFloats(o, n);
            }
            return Tensor.ofFloats(s, n);
        }
        float[] o = new float[n * gout];
        if (ws.granularity() == Granularity.PER_GROUP) {
            int g = ws.scalesPerRow(kpIn);
            for (int r = 0; r < n; r++) {
                System.arraycopy(s, r * g, o, r * gout, g);
            }
        } else {
            int groupsIn = (kpIn + gs - 1) / gs;
            for (int r = 0; r < n; r++) {
                float v = ws.granularity() == Granularity.PER_TENSOR ? s[0] : s[r];
                java.util.Arrays.fill(o, r * gout, r * gout + groupsIn, v);
            }
        }
        return Tensor.ofFloats(o, n, gout);
    }

    /**
     * @return k_tq3p blocks per SM for m rows: the persistent blocks take ceil(m / (sms·B)) rows each and the B blocks
     *     of an SM share its issue slots, so the time goes as ceil(m / (sms·B))·B: the B between maxBlocks / 2 and
     *     maxBlocks with the least of it, the largest on a tie (e.g. m = 4096, 132 SMs, at most 9: 8, whose 32 row
     *     slots per SM hold the 31.03 rows with the least idle)
     */
    static int tqpBlocksPerSm(int m, int sms, int maxBlocks) {
        int best = Math.max(1, maxBlocks);
        long bestTime = Long.MAX_VALUE;
        for (int blocks = Math.max(1, maxBlocks); blocks >= Math.max(1, maxBlocks / 2); blocks--) {
            long slots = (long) sms * blocks;
            long time = (m + slots - 1) / slots * blocks;
            if (time < bestTime) {
                bestTime = time;
                best = blocks;
            }
        }
        return best;
    }

    /** @return warps per row of k_tq3h where this layer's plan takes it (it runs for m &middot; kpad &ge; 2^23), else 0 */
    int tq3hWarpsPerRow() {
        return tq3h;
    }

    /** @return true when the weights are tiled and the GEMM is the bulk-copy kernel (k_wgmma_*_t) */
    boolean tiledGemm() {
        return tiledGemm;
    }

    @Override
    public QuantizedLinear plan() {
        return plan;
    }

    /** Rows per k_tq block: several when a low-rank branch reads `down` (once for all of them). */
    private int rowsPerBlock() {
        if (rank == 0) {
            return 1;
        }
        return Math.max(1, Math.min(4, b.sharedMemoryOptin() / 2 / 4 / (kpad + 512)));  // 2 blocks per SM
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        synchronized (b.lock()) {
            b.enter();
            if (closed.get()) {
                throw new IllegalStateException("prepared layer '" + plan.name() + "' is closed");
            }
            CudaTensor in = b.activation(x, plan.name());
            boolean bf16 = in.dtype() == DType.BF16;   // BF16 in, BF16 out: read and written by the kernels directly
            int k = plan.inFeatures();
            if (in.shape().cols() != k) {
                throw new InvalidInputException("layer '" + plan.name() + "': x has " + in.shape().cols()
                        + " columns, the layer takes " + k);
            }
            int m = Math.toIntExact(in.shape().rows());
            int n = plan.outFeatures();
            CudaTensor y = b.alloc(in.dtype(), in.shape().withCols(n));
            if (m == 0) {
                return y;
            }
            // W4A4 with per-row scales on sm_90: activation codes one per byte, only the weights unpacked
            boolean int8Act = tiledGemm || (bits == 4 && !grouped && spw > 0
                    && TensorCoreGemm.wgmmaInt8ActInt4W(b.wgmma(), m, n, kpad, rank));
            DType lrType = up == null ? DType.BF16 : up.dtype();
            TensorCoreGemm.TiledPlan tiled = tiledGemm ? TensorCoreGemm.tiledPlan(bits, m, n, kpad, b.smCount()) : null;
            boolean tiledA = tiled != null && tiled.tiledA();
            long codeRows = tiledA ? TiledOperands.paddedRows(m, TiledOperands.A_ROWS) : m;
            try (CudaTensor codes = b.alloc(bits == 4 && !int8Act ? DType.INT4 : DType.I8, Shape.of(codeRows, kpad));
                    CudaTensor scales = b.alloc(DType.F32, Shape.of((long) m * gout));
                    CudaTensor lr = rank == 0 ? null : b.alloc(up.dtype(), Shape.of(m, 2L * rank))) {
                // W4 unpack-first: the weights' unpack (memory-bound) on the side stream beside the transform
                // (issue-bound): about 4 µs of the W4A4 forward at 4096 x 3072 x 3072 on an NVIDIA H200 (83.3 -> 79.5 µs)
                CudaTensor w8 = tiled != null && tiled.unpackW4() ? TensorCoreGemm.allocUnpackedW4(b, n, kpad) : null;
                boolean early = false;   // the transform lets the GEMM start under its tail (k_tq3h, k_tq3p)
                try {
                    if (w8 != null) {   // the GEMM follows the join, not the transform: a plain launch
                        long side = b.forkSide();
                        try {
                            TensorCoreGemm.launchUnpackW4(b, side, wcodes, w8, n, kpad);
                            registerPath(in, bf16, 8, tiledA, m, k, codes, scales, lr);
                        } finally {
                            b.joinSide();   // always: w8 goes back to the pool only after the side stream is done with it
                        }
                    } else if (spw > 0) {
                        early = registerPath(in, bf16, int8Act ? 8 : bits, tiledA, m, k, codes, scales, lr);
                    } else if (bf16) {
                        try (CudaTensor wide = b.widenBf16(in)) {
                            sharedMemoryPath(wide, m, k, codes, scales, lr);
                        }
                    } else {
                        sharedMemoryPath(in, m, k, codes, scales, lr);
                    }
                    if (tiled != null) {
                        TensorCoreGemm.launchTiled(b, w8 == null ? tiled : tiled.unpacked(), codes, w8 == null ? wcodes : w8,
                                m, n, kpad, scales, wscales, lr, up, rank, lrType, bias, y, bf16, early && dependentLaunch);
                    } else if (int8Act) {
                        TensorCoreGemm.launchInt8ActInt4W(b, codes, wcodes, m, n, kpad, scales, wscales, lr, up, rank,
                                lrType, bias, y, bf16);
                    } else {
                        TensorCoreGemm.launch(b, bits, grouped, codes, wcodes, m, n, kpad, scales, wscales, gout,
                                TensorCoreGemm.chunksPerGroupArg(bits, gs, b.computeMajor()), lr, up, rank, lrType, bias,
                                y, bf16);
                    }
                } finally {
                    if (w8 != null) {
                        w8.close();   // back to the pool after the GEMM that reads it (stream order)
                    }
                }
            }
            return y;
        }
    }

    /**
     * @param codeBits 4: packed codes; 8: one code per byte (INT8, or the 4-bit codes for k_wgmma_i4w)
     * @return true when its last launch was k_tq3h or k_tq3p (see launchTq2)
     */
    private boolean registerPath(CudaTensor in, boolean bf16, int codeBits, boolean tiledA, int m, int k, CudaTensor codes,
            CudaTensor scales, CudaTensor lr) {
        int lrDt = up == null ? DType.BF16.ordinal() : up.dtype().ordinal();
        int segments = (kpad + 255) / 256;
        int warps = (segments + spw - 1) / spw;
        if (rank == 0) {
            return launchTq2(warps, in, bf16, codeBits, tiledA, k, m, codes, scales, null, 0, null, lrDt);
        }
        int chunks = (kp + 31) / 32;
        int[] split = lowRankSplits(m, chunks);
        try (CudaTensor part = b.alloc(DType.F32, Shape.of((long) split[0] * m * rank))) {
            if (tq3 > 0) {   // k_lr_down on the side stream beside k_tq3, then k_lr_sum (about 4 µs less at 4096 x 3072)
                long side = b.forkSide();
                try {
                    b.launchOn(side, "k_lr_down_r" + rank, (m + 63) / 64, split[0], 1, 128, 0, in, k, invSmooth, downHi,
                            downLo, m, split[1], chunks, part, bf16 ? 1 : 0);
                    launchTq2(warps, in, bf16, codeBits, tiledA, k, m, codes, scales, null, 0, null, lrDt);
                } finally {
                    b.joinSide();   // always: `part` and x go back to the pool only after the side stream is done with them
                }
                b.launch("k_lr_sum", (m + 7) / 8, 1, 1, 256, 0, part, split[0], rank, lr, lrDt, lowRankBias, m);
                return false;
            }
            b.launch("k_lr_down_r" + rank, (m + 63) / 64, split[0], 1, 128, 0, in, k, invSmooth, downHi, downLo, m,
                    split[1], chunks, part, bf16 ? 1 : 0);
            return launchTq2(warps, in, bf16, codeBits, tiledA, k, m, codes, scales, part, split[0], lr, lrDt);
        }
    }

    /**
     * @param tiledA the INT8 codes in the tiled layout (TiledOperands), for k_wgmma_*_t; k_tq3 only
     * @return true when the kernel was k_tq3h or k_tq3p, which let the GEMM after them start early (launchDependent)
     */
    private boolean launchTq2(int warps, CudaTensor in, boolean bf16, int codeBits, boolean tiledA, int k, int m,
            CudaTensor codes, CudaTensor scales, CudaTensor part, int ks, CudaTensor lr, int lrDt) {
        int groupArg = replicate ? kpad : gs;
        if (tq3h > 0 && tq3hPays(kpad, m)) {
            if (bf16 && persistentTransform) {   // k_tq3p: k_tq3h's arguments, one row per block of W warps, persistent
                int threads = 32 * tq3h;
                int smem = tq3h * TQ3P_WARP_SMEM;
                if (tq3pMaxBlocks == 0) {
                    tq3pMaxBlocks = Math.max(1, b.maxActiveBlocksPerSm("k_tq3p", threads, smem));
                }
                int grid = (int) Math.min(m, (long) b.smCount() * tqpBlocksPerSm(m, b.smCount(), tq3pMaxBlocks));
                b.launch("k_tq3p", grid, 1, 1, threads, smem, in, k, kpad, smooth, shift, rot, ln0, rscale, codeBits,
                        groupArg, gout, act.clipRatio(), act.qmin(), act.qmax(), codes, scales, part, ks, rank, lr, lrDt,
                        lowRankBias, m, 1, tq3h, tiledA ? 1 : 0);
                return true;
            }
            // k_tq3h: k_tq3's arguments with W = tq3h warps per row, 4 / W rows per block where W divides 4
            int rows = tq3h < 4 && 4 % tq3h == 0 ? 4 / tq3h : 1;
            int threads = 32 * tq3h * rows;
            launchTransform("k_tq3h", (m + rows - 1) / rows, threads, threads / 32 * TQ3H_WARP_SMEM, in, k, kpad,
                    smooth, shift, rot, ln0, rscale, codeBits, groupArg, gout, act.clipRatio(), act.qmin(), act.qmax(),
                    codes, scales, part, ks, rank, lr, lrDt, lowRankBias, m, bf16 ? 1 : 0, tq3h, tiledA ? 1 : 0);
            return true;
        }
        if (tq3 > 0) {   // k_tq3: W warps per row, 4 / W rows per block where W divides 4
            int w = ((kpad + 255) / 256 + 1) / 2;
            w = (w + tq3 - 1) / tq3;
            int rows = w < 4 && 4 % w == 0 ? 4 / w : 1;
            int threads = 32 * w * rows;
            // clip < 1: the clamped kernels (codes may leave [qmin, qmax]); else the codes without clamps
            String name = "k_tq3_r" + tq3 + (act.clipRatio() < 1f ? "c" : "");
            b.launch(name, (m + rows - 1) / rows, 1, 1, threads, threads / 32 * TQ3_WARP_SMEM, in, k, kpad,
                    smooth, shift, rot, rot == 0 ? 0 : ln0, rscale, codeBits, groupArg, gout, act.clipRatio(), act.qmin(),
                    act.qmax(), codes, scales, part, ks, rank, lr, lrDt, lowRankBias, m, bf16 ? 1 : 0, w, tiledA ? 1 : 0);
            return false;
        }
        b.launch("k_tq2_s" + spw, m, 1, 1, 32 * warps, 0, in, k, kpad, smooth, shift, rot, rot == 0 ? 0 : ln0, rscale,
                codeBits, groupArg, gout, act.clipRatio(), act.qmin(), act.qmax(), codes, scales, part, ks, rank,
                lr, lrDt, lowRankBias, m, bf16 ? 1 : 0);
        return false;
    }

    /**
     * k_tq3h: as a programmatic dependent of the kernel before it (it waits for it before any access). Not k_tq3p, whose
     * persistent grid needs its blocks spread evenly (1.1 µs slower so at 4096 x 3072 on an H100; k_tq3h 1.4 µs faster).
     */
    private void launchTransform(String name, int grid, int threads, int smem, Object... args) {
        if (dependentLaunch) {
            b.launchDependent(name, grid, 1, 1, threads, smem, args);
        } else {
            b.launch(name, grid, 1, 1, threads, smem, args);
        }
    }

    private void sharedMemoryPath(CudaTensor in, int m, int k, CudaTensor codes, CudaTensor scales, CudaTensor lr) {
        DType dd = down == null ? DType.BF16 : down.dtype();
        int rows = rowsPerBlock();
        b.launch(rank > 0 ? "k_tq_lr" : "k_tq", (m + rows - 1) / rows, 1, 1, 256, 4 * (rows * kpad + 8 * rows * 64), in, k, kp,
                kpad, smooth, shift, rot, n0, rscale, bits, replicate ? kpad : gs, gout, replicate ? 1 : 0, act.clipRatio(),
                act.qmin(), act.qmax(), codes, scales, down, dd.ordinal(), rank, lr,
                up == null ? DType.BF16.ordinal() : up.dtype().ordinal(), m, rows);
    }

    @Override
    public long deviceBytes() {
        long s = 0;
        for (CudaTensor t : new CudaTensor[] {wcodes, wscales, smooth, shift, down, up, bias, downHi, downLo, invSmooth,
                lowRankBias}) {
            s += t == null ? 0 : t.bytes();
        }
        return s;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (CudaTensor t : new CudaTensor[] {wcodes, wscales, smooth, shift, down, up, bias, downHi, downLo, invSmooth,
                    lowRankBias}) {
                if (t != null) {
                    t.close();
                }
            }
            b.forget(this);
        }
    }
}
