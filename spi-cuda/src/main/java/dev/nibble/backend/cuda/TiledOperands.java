package dev.nibble.backend.cuda;

/**
 * The operand layouts of the bulk-copy wgmma GEMMs (k_wgmma_*_t, {@link TensorCoreGemm#launchTiled}): each
 * pipeline stage of those kernels is one contiguous block of A and one of W, so the bulk-copy engine can move
 * it without a tensor map. Rows are grouped in blocks ({@link #A_ROWS} for the activations, {@link #W_ROWS} for
 * the weights), K in {@link #SEGMENT}-byte segments: block b, segment s is {@code rows x 64} bytes (INT8; 32 for
 * packed INT4 weights) at block b's start + {@code s·rows·64}. INT8 rows are pre-swizzled for wgmma's 64-byte
 * swizzle (16-byte chunk c of row r stored at chunk {@code c ^ ((r >> 1) & 3)}); packed INT4 weight rows keep the
 * canonical packing, the kernels unpack and swizzle them.
 *
 * <p>Activations (written by k_tq3) use whole 128-row blocks; rows past M are never stored. Weights are compact:
 * every block holds 256 rows except the last, which holds the remaining rows rounded up to 8 ({@link
 * #weightRows}), so a layer's tiled weights take at most 7 rows more than its codes (the kernels read whole
 * 256-row stages and never store the outputs of the rows they did not load).
 */
final class TiledOperands {
    /** Bytes of K per row segment (one pipeline stage). */
    static final int SEGMENT = 64;
    /** Rows per activation block (the GEMM tile's M). */
    static final int A_ROWS = 128;
    /** Rows per weight block (the widest GEMM tile's N). */
    static final int W_ROWS = 256;

    private TiledOperands() {
    }

    /** @return rows rounded up to whole blocks (the tiled activations) */
    static long paddedRows(long rows, int blockRows) {
        return (rows + blockRows - 1) / blockRows * blockRows;
    }

    /** @return rows stored for weights of {@code n} rows: whole 256-row blocks, the last block rounded up to 8 rows */
    static long weightRows(long n) {
        return n / W_ROWS * W_ROWS + (n % W_ROWS + 7) / 8 * 8;
    }

    /** @return rows stored in weight block b of a layer with n rows */
    static int blockRows(long n, long b) {
        return (int) Math.min(W_ROWS, weightRows(n) - b * W_ROWS);
    }

    /** @return the byte offset of INT8 weight (row, k) in the tiled weights of a layer with n rows */
    static long weightOffset(int row, int k, int kpad, int n) {
        int b = row / W_ROWS;
        int r = row % W_ROWS;
        int chunk = ((k % SEGMENT) / 16) ^ ((r >> 1) & 3);
        return (long) b * (kpad / SEGMENT) * W_ROWS * SEGMENT + ((long) (k / SEGMENT) * blockRows(n, b) + r) * SEGMENT
                + chunk * 16 + k % 16;
    }

    /**
     * @param codes INT8 codes [rows][kpad], kpad a multiple of {@link #SEGMENT}
     * @return the tiled, swizzled weights ({@link #weightRows} x kpad bytes)
     */
    static byte[] weightsInt8(byte[] codes, int rows, int kpad) {
        checkK(kpad);
        byte[] out = new byte[Math.toIntExact(weightRows(rows) * kpad)];
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < kpad; k += 16) {
                System.arraycopy(codes, row * kpad + k, out, (int) weightOffset(row, k, kpad, rows), 16);
            }
        }
        return out;
    }

    /**
     * @param packed INT4 codes in the canonical packing, [rows][kpad / 2] bytes
     * @return {@link #weightRows} x kpad / 2 bytes: segment s of row r (packed bytes 32s..32s+31 of that row) at
     *     block r / 256's start + {@code (s·blockRows + r % 256)·32}
     */
    static byte[] weightsInt4(byte[] packed, int rows, int kpad) {
        checkK(kpad);
        int seg = SEGMENT / 2;
        int segments = kpad / SEGMENT;
        byte[] out = new byte[Math.toIntExact(weightRows(rows) * kpad / 2)];
        for (int row = 0; row < rows; row++) {
            int b = row / W_ROWS;
            int br = blockRows(rows, b);
            for (int s = 0; s < segments; s++) {
                long dst = (long) b * segments * W_ROWS * seg + ((long) s * br + row % W_ROWS) * seg;
                System.arraycopy(packed, row * (kpad / 2) + s * seg, out, (int) dst, seg);
            }
        }
        return out;
    }

    private static void checkK(int kpad) {
        if (kpad <= 0 || kpad % SEGMENT != 0) {
            throw new IllegalArgumentException("tiled operands need K padded to a multiple of " + SEGMENT + ", got " + kpad);
        }
    }
}
