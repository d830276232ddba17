package dev.nibble.backend.cuda;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;

/**
 * The tensor-core integer GEMM (k_gemm_* in nibble_fused.cu): INT8×INT8 on mma.sync m16n8k32;
 * INT4×INT4 kept packed in memory and unpacked to INT8 in registers on sm_90 (Hopper has no fast
 * s4 mma.sync), native s4 m16n8k64 on sm_80–sm_89. Int32 accumulation, per-row or per-group
 * dequantization, optional low-rank up projection and bias in the epilogue.
 */
final class TensorCoreGemm {
    static final int TILE_M = 128;
    static final int TILE_N = 128;

    private TensorCoreGemm() {
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
                a.k() / g, chunksPerGroupArg(bits, g, b.computeMajor()), null, null, 0, DType.BF16, null, out);
    }

    static void launch(CudaBackend b, int bits, boolean grouped, CudaTensor codesA, CudaTensor codesW, int m, int n,
            int kpad, CudaTensor sa, CudaTensor sw, int groups, int chunksPerGroup, CudaTensor lr, CudaTensor up, int r,
            DType lrType, CudaTensor bias, CudaTensor y) {
        b.launch(kernel(bits, grouped, b.computeMajor()), (n + TILE_N - 1) / TILE_N, (m + TILE_M - 1) / TILE_M, 1, 256,
                CudaBackend.GEMM_SMEM, codesA, codesW, m, n, kpad, sa, sw, groups, chunksPerGroup, lr, up, r,
                lrType == DType.BF16 ? 1 : 0, bias, y);
    }
}
