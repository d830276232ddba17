package dev.nibble.backend.cuda;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Shape;
import java.util.List;

/**
 * The tensor-core integer GEMM (k_gemm_* in nibble_fused.cu): INT8×INT8 on mma.sync m16n8k32;
 * INT4×INT4 kept packed in memory and unpacked to INT8 in registers on sm_90 (Hopper has no fast
 * s4 mma.sync), native s4 m16n8k64 on sm_80–sm_89. Int32 accumulation, per-row or per-group
 * dequantization, optional low-rank up projection and bias in the epilogue.
 *
 * <p>On compute capability 9.0 the per-row-scale GEMMs run on the wgmma kernels instead
 * (k_wgmma_* in nibble_wgmma.cu, sm_90a): same arguments, same int32 sums and epilogue arithmetic,
 * so the output is bit-identical; see {@link #wgmmaTileN}. Grouped GEMMs with 64-element groups run
 * on k_wgmma_i8_g / k_wgmma_i4_g (nibble_wgmma_grouped.cuh), bit-identical to k_gemm_*_g; see
 * {@link #wgmmaGrouped}.
 */
final class TensorCoreGemm {
    static final int TILE_M = 128;
    static final int TILE_N = 128;

    /** Rows of a wgmma tile (two warpgroups of 64). */
    static final int WGMMA_TILE_M = 128;
    /**
     * Dynamic shared memory of the largest wgmma variant (k_wgmma_i8: 4 stages of 384 rows x 128 bytes,
     * 4 KB of prefetched epilogue operands, alignment).
     */
    static final int WGMMA_SMEM = 4 * (128 + 256) * 128 + 4096 + 1024;
    /**
     * Dynamic shared memory of every other wgmma kernel except k_wgmma_i8_t (192 KB of stages, alignment).
     * Launching them with {@link #WGMMA_SMEM} instead pushed the SM into its largest shared-memory carve-out,
     * halving the L1 cache the grouped GEMM reads its scales through: 14% slower on an NVIDIA H200.
     */
    static final int WGMMA_SMEM_SMALL = 4 * (128 + 256) * 128 + 1024;
    static final List<String> WGMMA_KERNELS = List.of("k_wgmma_i8", "k_wgmma_i4", "k_wgmma_i8_n128", "k_wgmma_i4_n128",
            "k_wgmma_i8_g", "k_wgmma_i4_g", "k_wgmma_i4w", "k_wgmma_i4w_n128", "k_wgmma_i8_t", "k_wgmma_i8_t_n128",
            "k_wgmma_i4w_t", "k_wgmma_i4w_t_n128", "k_wgmma_i8_n128_tw");
    /**
     * The GEMMs on TILED operands (k_wgmma_i8_t*, k_wgmma_i4w_t*, see {@link #launchTiled}): threads per block
     * (two consumer warpgroups, one producer warpgroup) and their dynamic shared memory (the values the
     * static_asserts in nibble_wgmma.cu pin). k_wgmma_i8_t: 6 stages of 384 rows x 64 bytes, the BF16 output
     * tile, epilogue operands, barriers.
     */
    static final int WGMMA_T_THREADS = 384;
    static final int WGMMA_T_SMEM = 6 * (128 + 256) * 64 + 128 * (2 * 256 + 16) + 4 * 256 * 4 + 2 * 6 * 8 + 1024;
    /** k_wgmma_i8_t_n128: 8 stages of 256 rows x 64 bytes, the 128 x 128 BF16 output tile, operands, barriers. */
    static final int WGMMA_T_N128_SMEM = 8 * (128 + 128) * 64 + 128 * (2 * 128 + 16) + 4 * 128 * 4 + 2 * 8 * 8 + 1024;
    /**
     * k_wgmma_i4w_t: 6 stages of [A 128 x 64 | INT8 W 256 x 64 | packed W 256 x 32] bytes, epilogue operands, the
     * per-warp output slabs (8 x 16 rows of 36 floats), three barriers per stage.
     */
    static final int WGMMA_I4W_T_SMEM = 6 * ((128 + 256) * 64 + 256 * 32) + 2 * 256 * 4 + 8 * 16 * 36 * 4 + 3 * 6 * 8 + 1024;
    /** k_wgmma_i4w_t_n128: 8 stages of [A 128 x 64 | INT8 W 128 x 64 | packed W 128 x 32] bytes, as above. */
    static final int WGMMA_I4W_T_N128_SMEM = 8 * ((128 + 128) * 64 + 128 * 32) + 128 * (2 * 128 + 16) + 4 * 128 * 4
            + 3 * 8 * 8 + 1024;

    /** @return the dynamic shared memory a wgmma kernel of {@link #WGMMA_KERNELS} is launched with */
    static int wgmmaSmem(String kernel) {
        return switch (kernel) {
            case "k_wgmma_i8_t" -> WGMMA_T_SMEM;
            case "k_wgmma_i8_t_n128" -> WGMMA_T_N128_SMEM;
            case "k_wgmma_i4w_t" -> WGMMA_I4W_T_SMEM;
            case "k_wgmma_i4w_t_n128" -> WGMMA_I4W_T_N128_SMEM;
            case "k_wgmma_i8" -> WGMMA_SMEM;
            default -> WGMMA_SMEM_SMALL;
        };
    }
    /** Columns of a grouped wgmma tile (128 x 128: two accumulator sets and the float sums fit the registers). */
    static final int WGMMA_GROUPED_TILE_N = 128;
    /** The wgmma epilogue stages the tile's rows of the up projection in shared memory (MAX_RANK in nibble_wgmma.cu). */
    static final int WGMMA_MAX_RANK = 64;
    /** Rows from which {@link #tiledPlan} unpacks 4-bit weights first (break-even estimated at ~750 rows on an H200). */
    static final int UNPACK_W4_MIN_M = 1024;

    private TensorCoreGemm() {
    }

    /**
     * Chooses the GEMM on a device with the wgmma kernels. They take per-row scales only (the grouped
     * GEMM stays on mma.sync), any M and N (edge tiles are predicated) and the same K alignment. The
     * 128 x 256 tile is the fastest once there are enough tiles to fill half the SMs; below that the
     * 128 x 128 tile. INT4 with a short K (under 2048) and many tiles stays on mma.sync, measured
     * faster there on an NVIDIA H200 (docs/benchmarks/cudagemm.md).
     *
     * @return the wgmma tile width N (256 or 128), or 0 for the mma.sync GEMM
     */
    static int wgmmaTileN(boolean available, int bits, boolean grouped, int m, int n, int kpad, int rank, int sms) {
        if (!available || grouped || rank > WGMMA_MAX_RANK || m <= 0 || n <= 0) {
            return 0;
        }
        long tiles256 = (long) ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M) * ((n + 255) / 256);
        boolean few = 2 * tiles256 < sms;
        if (bits == 4 && kpad < 2048 && !few) {
            return 0;
        }
        return few ? 128 : 256;
    }

    /**
     * Chooses the grouped wgmma GEMM (k_wgmma_*_g) on a device with the wgmma kernels: groups of
     * exactly 64 elements (two wgmma k-steps per group; other group sizes stay on mma.sync), any M
     * and N, rank up to {@link #WGMMA_MAX_RANK}; timings in docs/benchmarks/cudagroup.md.
     *
     * @param chunksPerGroup the kernel's argument ({@link #chunksPerGroupArg}; the sign is a hint)
     */
    static boolean wgmmaGrouped(boolean available, int bits, int chunksPerGroup, int m, int n, int rank) {
        return available && Math.abs(chunksPerGroup) * chunk(bits) == 64 && rank <= WGMMA_MAX_RANK && m > 0 && n > 0;
    }

    /** @return the K alignment the kernel needs for codes of this width */
    static int alignment(int bits) {
        return bits == 4 ? 256 : 128;
    }

    /** @return elements per 32-byte chunk (a group must be a whole number of chunks) */
    static int chunk(int bits) {
        return bits == 4 ? 64 : 32;
    }

    static boolean intSym(QuantScheme s) {
        return s.format() == QuantScheme.Format.INT && s.signed() && s.symmetric();
    }

    /** @return true if gemmQuantized of these canonical operands can run on the tensor-core kernel */
    static boolean fits(CudaBackend.CudaQ a, CudaBackend.CudaQ w) {
        QuantScheme sa = a.scheme();
        QuantScheme sw = w.scheme();
        if (!intSym(sa) || !intSym(sw) || sa.bits() != sw.bits() || a.zeros() != null || w.zeros() != null) {
            return false;
        }
        int k = a.k();
        if (k == 0 || k % alignment(sa.bits()) != 0) {
            return false;
        }
        boolean rowA = sa.granularity().isPerRow();
        boolean rowW = sw.granularity().isPerRow();
        if (rowA && rowW) {
            return true;
        }
        return sa.granularity() == Granularity.PER_GROUP && sw.granularity() == Granularity.PER_GROUP
                && sa.groupSize() == sw.groupSize() && sa.groupSize() % chunk(sa.bits()) == 0 && k % sa.groupSize() == 0;
    }

    /**
     * @return the kernel's chunks-per-group argument: negative when every per-group int32 sum stays
     *     below 2^22 in magnitude, so the epilogue may convert it to float without I2F
     */
    static int chunksPerGroupArg(int bits, int g, int ccMajor) {
        int cpg = g / chunk(bits);
        long maxProduct = bits == 8 ? 128L * 128 : ccMajor >= 9 ? 8L * 8 * 256 : 8L * 8;
        return (long) g * maxProduct < (1L << 22) ? -cpg : cpg;
    }

    static String kernel(int bits, boolean grouped, int ccMajor) {
        String base = bits == 8 ? "k_gemm_i8" : ccMajor >= 9 ? "k_gemm_i4" : "k_gemm_s4";
        return grouped ? base + "_g" : base;
    }

    static void run(CudaBackend b, CudaBackend.CudaQ a, CudaBackend.CudaQ w, CudaTensor out) {
        int bits = a.scheme().bits();
        boolean grouped = a.scheme().granularity() == Granularity.PER_GROUP;
        int g = grouped ? a.scheme().groupSize() : a.k();
        launch(b, bits, grouped, a.codes(), w.codes(), (int) a.rows(), (int) w.rows(), a.k(), a.scales(), w.scales(),
                a.k() / g, chunksPerGroupArg(bits, g, b.computeMajor()), null, null, 0, DType.BF16, null, out, false);
    }

    /**
     * Launches the GEMM y = dequant(codesA · codesWᵀ) [+ lr · upᵀ] [+ bias] on the kernel the dispatch
     * rules choose (wgmma on compute capability 9.0, else mma.sync).
     *
     * @param yBf16 false: y is float[m][n]; true: y is bf16[m][n], each value the round-to-nearest-even
     *     of exactly the float the F32 output would hold (the kernels' last argument)
     */
    static void launch(CudaBackend b, int bits, boolean grouped, CudaTensor codesA, CudaTensor codesW, int m, int n,
            int kpad, CudaTensor sa, CudaTensor sw, int groups, int chunksPerGroup, CudaTensor lr, CudaTensor up, int r,
            DType lrType, CudaTensor bias, CudaTensor y, boolean yBf16) {
        int yArg = yBf16 ? 1 : 0;
        if (grouped && wgmmaGrouped(b.wgmma(), bits, chunksPerGroup, m, n, lr == null ? 0 : r)) {
            long tiles = (long) ((n + WGMMA_GROUPED_TILE_N - 1) / WGMMA_GROUPED_TILE_N) * ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M);
            // persistent: one block per SM walks the 128 x 128 tiles
            String name = bits == 8 ? "k_wgmma_i8_g" : "k_wgmma_i4_g";
            b.launch(name, (int) Math.min(tiles, b.smCount()), 1, 1, 256, wgmmaSmem(name),
                    codesA, codesW, m, n, kpad, sa, sw, groups, chunksPerGroup, lr, up, r, lrType == DType.BF16 ? 1 : 0, bias, y, yArg);
            return;
        }
        int tile = wgmmaTileN(b.wgmma(), bits, grouped, m, n, kpad, lr == null ? 0 : r, b.smCount());
        if (tile > 0) {
            String name = (bits == 8 ? "k_wgmma_i8" : "k_wgmma_i4") + (tile == 128 ? "_n128" : "");
            long tiles = (long) ((n + tile - 1) / tile) * ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M);
            // persistent: one block per SM walks the tiles
            b.launch(name, (int) Math.min(tiles, b.smCount()), 1, 1, 256, wgmmaSmem(name), codesA, codesW,
                    m, n, kpad, sa, sw, groups, chunksPerGroup, lr, up, r, lrType == DType.BF16 ? 1 : 0, bias, y, yArg);
            return;
        }
        b.launch(kernel(bits, grouped, b.computeMajor()), (n + TILE_N - 1) / TILE_N, (m + TILE_M - 1) / TILE_M, 1, 256,
                CudaBackend.GEMM_SMEM, codesA, codesW, m, n, kpad, sa, sw, groups, chunksPerGroup, lr, up, r,
                lrType == DType.BF16 ? 1 : 0, bias, y, yArg);
    }

    /**
     * What one tiled GEMM runs ({@link #tiledPlan}): the kernel; whether it reads A tiled (false for
     * k_wgmma_i8_n128_tw, which reads A row-major {@code [m][kpad]}); whether packed INT4 weights are first unpacked
     * by k_wgmma_w4t_to_w8t into a transient INT8 copy for the (INT8) kernel.
     */
    record TiledPlan(String kernel, boolean tiledA, boolean unpackW4) {
        /** @return the plan of the GEMM that runs on the weights once they are unpacked */
        TiledPlan unpacked() {
            return new TiledPlan(kernel, tiledA, false);
        }
    }

    /** @return a transient buffer for tiled 4-bit weights of n rows unpacked to INT8 ({@link #launchUnpackW4}) */
    static CudaTensor allocUnpackedW4(CudaBackend b, int n, int kpad) {
        return b.alloc(DType.I8, Shape.of(TiledOperands.weightRows(n), kpad));
    }

    /**
     * Packed INT4 weights in the tiled layout -&gt; INT8 codes in k_wgmma_i8_t's (k_wgmma_w4t_to_w8t) on {@code stream}:
     * the weights only, so a forward may run it beside the transform of its activations.
     */
    static void launchUnpackW4(CudaBackend b, long stream, CudaTensor tiledW4, CudaTensor w8, int n, int kpad) {
        long chunks = TiledOperands.weightRows(n) * kpad / 16;
        b.launchOn(stream, "k_wgmma_w4t_to_w8t", (int) ((chunks + 255) / 256), 1, 1, 256, 0, tiledW4, w8, chunks, n, kpad);
    }

    /**
     * Chooses the tiled GEMM of one forward:
     * <ul>
     *   <li>W4 from {@link #UNPACK_W4_MIN_M} rows, where 128 x 256 tiles fill at least half the SMs: unpack first, then
     *       k_wgmma_i8_t. The producer's unpack in k_wgmma_i4w_t competes with the tensor cores for shared memory
     *       (gemm4.md); the separate pass moves 1.5 bytes per weight once per forward, whatever M, so it pays only
     *       for enough rows: on an NVIDIA H200 it saved 3-62 us at M = 1024 and 4096 on every benchmark shape, and
     *       cost 12 us at M = 256, K = 3072, N = 12288 (docs/benchmarks.md, session 4).</li>
     *   <li>INT8 where 128 x 256 tiles would fill under half the SMs: k_wgmma_i8_n128_tw, the cp.async pipeline
     *       reading the tiled W with A row-major (at M = 256, K = N = 3072 k_wgmma_i8_t_n128 took 17.3 us against
     *       14.8 for that pipeline; gemm4.md).</li>
     *   <li>Otherwise k_wgmma_i8_t (INT8 W) or k_wgmma_i4w_t (packed INT4 W), with 128 x 128 tiles ({@code _n128})
     *       when 128 x 256 tiles would fill under half the SMs, and for packed INT4 W with a short K (under 2048): at
     *       K = 1152, N = 4608 k_wgmma_i4w_t_n128 took 26.1 us at M = 1024 (k_wgmma_i4w_t 30.1).</li>
     * </ul>
     *
     * @throws IllegalArgumentException for weights other than 8 or 4 bits, or kpad not a multiple of the
     *     tiled layout's K alignment (64; 256 for 4-bit weights)
     */
    static TiledPlan tiledPlan(int bits, int m, int n, int kpad, int sms) {
        if (bits != 8 && bits != 4) {
            throw new IllegalArgumentException("tiled GEMM: " + bits + "-bit weights are not supported (8 or 4)");
        }
        int align = bits == 4 ? alignment(4) : 64;
        if (kpad <= 0 || kpad % align != 0) {
            throw new IllegalArgumentException("tiled GEMM: kpad " + kpad + " is not a positive multiple of " + align);
        }
        long tiles256 = (long) ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M) * ((n + 255) / 256);
        boolean few = 2 * tiles256 < sms;
        if (bits == 4 && !few && m >= UNPACK_W4_MIN_M) {
            return new TiledPlan("k_wgmma_i8_t", true, true);
        }
        if (few && bits == 8 && kpad % alignment(8) == 0) {
            return new TiledPlan("k_wgmma_i8_n128_tw", false, false);
        }
        boolean narrow = few || (bits == 4 && kpad < 2048);
        return new TiledPlan((bits == 8 ? "k_wgmma_i8_t" : "k_wgmma_i4w_t") + (narrow ? "_n128" : ""), true, false);
    }

    /**
     * Whether a fused linear with these weights keeps them tiled for {@link #launchTiled}: compute capability 9.0
     * with the wgmma module, per-row scales, rank up to {@link #WGMMA_MAX_RANK}, and a weight width the tiled
     * kernels take. {@code -Dnibble.cuda.tiled=false} keeps the row-major kernels (for comparisons).
     */
    static boolean tiled(boolean available, int bits, boolean grouped, int rank) {
        return available && !grouped && rank <= WGMMA_MAX_RANK && (bits == 8 || bits == 4)
                && !"false".equals(System.getProperty("nibble.cuda.tiled"));
    }

    /**
     * The per-row GEMM on operands stored TILED (compute capability 9.0 with the wgmma module). Layouts, with kpad
     * a multiple of 64 (256 for 4-bit weights):
     * <ul>
     *   <li>A: {@code [ceil(m/128)][kpad/64][128][64]} bytes: INT8 codes, or with 4-bit weights the 4-bit codes one
     *       per byte (values -8..7). Inside each 64-byte row segment, the 16-byte chunk c of row r is stored at chunk
     *       {@code c ^ ((r >> 1) & 3)} (the wgmma 64-byte swizzle); padding rows past m may hold anything.</li>
     *   <li>W, bits 8: blocks of 256 rows, {@code [kpad/64][256][64]} bytes each, swizzled as A, except the last,
     *       which holds the remaining rows rounded up to 8 ({@code [kpad/64][rows][64]}: compact, {@link
     *       TiledOperands#weightRows}).</li>
     *   <li>W, bits 4: packed INT4, the same blocks with 32-byte row segments: row segment (row n, kt) holds the 64
     *       codes k = 64kt..64kt+63 of row n in the canonical packing (code 64kt+2i in the low nibble of byte i,
     *       64kt+2i+1 in the high nibble, two's complement), NOT swizzled. From {@link #UNPACK_W4_MIN_M} rows with
     *       many tiles k_wgmma_w4t_to_w8t unpacks them into a transient INT8 copy for k_wgmma_i8_t ({@link #tiledPlan}); else the kernel's
     *       producer warpgroup unpacks each stage to 16 x code bytes in shared memory.</li>
     * </ul>
     * Each pipeline stage is then contiguous blocks copied by the bulk-copy engine (no tensor map). 128 x 128 tiles
     * when there are few tiles ({@link #tiledPlan}): the same layouts, a tile reading one half of each 256-row W
     * block. Same output as k_gemm_i8 / k_gemm_i4 (packed activations) on the row-major operands, bit for bit
     * (spi-cuda/src/test/cuda/wgmma_check.cu); timings in docs/benchmarks/cudagemm2.md and gemm4.md.
     *
     * @param plan from {@link #tiledPlan}: the kernel, and whether codesA is tiled or row-major (activation codes are
     *     bytes either way); for a plan that unpacks W4 first, its {@link TiledPlan#unpacked()} on the weights
     *     {@link #launchUnpackW4} wrote
     * @param yBf16 as in {@link #launch}
     * @param dependent the kernel launched just before on the default stream wrote codesA (and sa): launch the GEMM as
     *     a programmatic dependent launch (CudaBackend#launchDependent), its launch and prologue under that kernel's
     *     tail. Only for a transform that allows it early (k_tq3h, k_tq3p); any other is waited for whole
     */
    static void launchTiled(CudaBackend b, TiledPlan plan, CudaTensor codesA, CudaTensor tiledW, int m, int n, int kpad,
            CudaTensor sa, CudaTensor sw, CudaTensor lr, CudaTensor up, int r, DType lrType, CudaTensor bias, CudaTensor y,
            boolean yBf16, boolean dependent) {
        if (plan.unpackW4()) {   // the caller unpacks (FusedLinear.forward: beside the transform) and passes unpacked()
            throw new IllegalArgumentException("tiled GEMM " + plan.kernel() + ": packed INT4 weights must be unpacked"
                    + " first (launchUnpackW4, then the plan's unpacked())");
        }
        String name = plan.kernel();
        int tile = name.contains("_n128") ? 128 : 256;
        long tiles = (long) ((n + tile - 1) / tile) * ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M);
        int threads = plan.tiledA() ? WGMMA_T_THREADS : 256;
        // persistent: one block per SM walks the tiles
        Object[] args = {codesA, tiledW, m, n, kpad, sa, sw, 1, 1, lr, up, lr == null ? 0 : r, lrType == DType.BF16 ? 1 : 0,
            bias, y, yBf16 ? 1 : 0};
        int grid = (int) Math.min(tiles, b.smCount());
        if (dependent && plan.tiledA()) {   // the k_wgmma_*_t kernels wait (griddepcontrol.wait) before they read A
            b.launchDependent(name, grid, 1, 1, threads, wgmmaSmem(name), args);
        } else {
            b.launch(name, grid, 1, 1, threads, wgmmaSmem(name), args);
        }
    }

    /**
     * Whether a W4A4 per-row GEMM can run on k_wgmma_i4w (activation codes as INT8 bytes, see
     * {@link #launchInt8ActInt4W}): compute capability 9.0 with the wgmma module, per-row scales,
     * rank up to {@link #WGMMA_MAX_RANK}, K a multiple of 256 (the packed INT4 weight alignment).
     */
    static boolean wgmmaInt8ActInt4W(boolean available, int m, int n, int kpad, int rank) {
        return available && rank <= WGMMA_MAX_RANK && m > 0 && n > 0 && kpad > 0 && kpad % alignment(4) == 0;
    }

    /**
     * W4A4 GEMM with the activation codes held one per byte (int8[m][kpad], values -8..7: k_tq2 launched
     * with bits=8, qmin=-8, qmax=7 writes them, with the same codes and scales as bits=4) and the
     * weights packed INT4 (the canonical [n][kpad/2] packing). Only the weights are unpacked (to INT8 in
     * shared memory), so the output equals k_gemm_i4's on the packed activations, bit for bit. Per-row
     * scales only (sa [m], sw [n]); the caller checks {@link #wgmmaInt8ActInt4W} first.
     *
     * @param yBf16 as in {@link #launch}
     */
    static void launchInt8ActInt4W(CudaBackend b, CudaTensor codesA8, CudaTensor codesW4, int m, int n, int kpad,
            CudaTensor sa, CudaTensor sw, CudaTensor lr, CudaTensor up, int r, DType lrType, CudaTensor bias,
            CudaTensor y, boolean yBf16) {
        long tiles256 = (long) ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M) * ((n + 255) / 256);
        int tile = 2 * tiles256 < b.smCount() ? 128 : 256;
        String name = tile == 128 ? "k_wgmma_i4w_n128" : "k_wgmma_i4w";
        long tiles = (long) ((n + tile - 1) / tile) * ((m + WGMMA_TILE_M - 1) / WGMMA_TILE_M);
        b.launch(name, (int) Math.min(tiles, b.smCount()), 1, 1, 256, wgmmaSmem(name), codesA8, codesW4, m, n, kpad, sa, sw,
                1, 1, lr, up, lr == null ? 0 : r, lrType == DType.BF16 ? 1 : 0, bias, y, yBf16 ? 1 : 0);
    }
}
