package dev.nibble.backend.cuda;

/**
 * The operand layouts of the bulk-copy wgmma GEMMs (k_wgmma_*_t, {@link TensorCoreGemm#launchTiled}): each
 * pipeline stage of those kernels is one contiguous block of A and one of W, so the bulk-copy engine can move
 * it without a tensor map. Rows are grouped in blocks ({@link #A_ROWS} for the activations, {@link #W_ROWS} for
 * the weights), K in {@link #SEGMENT}-byte segments: block b, segment s is {@code rows x 64} bytes at
 * {@code (b·(kpad/64) + s)·rows·64}. INT8 rows are pre-swizzled for wgmma's 64-byte swizzle (16-byte chunk c of
 * row r stored at chunk {@code c ^ ((r >> 1) & 3)}); packed INT4 weight rows keep the canonical packing (32 bytes
 * per segment), the kernel unpacks and swizzles them. Padding rows past the last are zero here; the kernels
 * never store their outputs.
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

    /** @return the byte offset of INT8 element (row, k) in a tiled operand of {@code blockRows}-row blocks */
    static long int8Offset(int row, int k, int kpad, int blockRows) {
        int r = row % blockRows;
        int chunk = ((k % SEGMENT) / 16) ^ ((r >> 1) & 3);
        return ((long) (row / blockRows) * (kpad / SEGMENT) + k / SEGMENT) * blockRows * SEGMENT + r * SEGMENT + chunk * 16
                + k % 16;
    }

    /** @return rows rounded up to whole blocks */
    static long paddedRows(long rows, int blockRows) {
        return (rows + blockRows - 1) / blockRows * blockRows;
    }

    /**
     * @param codes INT8 codes [rows][kpad], kpad a multiple of {@link #SEGMENT}
     * @return the tiled, swizzled copy ({@link #paddedRows} x kpad bytes)
     */
    static byte[] int8(byte[] codes, int rows, int kpad, int blockRows) {
        checkK(kpad);
        byte[] out = new byte[Math.toIntExact(paddedRows(rows, blockRows) * kpad)];
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < kpad; k += 16) {
                System.arraycopy(codes, row * kpad + k, out, (int) int8Offset(row, k, kpad, blockRows), 16);
            }
        }
        return out;
    }

    /**
     * @param packed INT4 codes in the canonical packing, [rows][kpad / 2] bytes
     * @return {@code [ceil(rows / W_ROWS)][kpad / 64][W_ROWS][32]} bytes: segment s of row r is packed bytes
     *     32s..32s+31 of that row
     */
    static byte[] int4Weights(byte[] packed, int rows, int kpad) {
        checkK(kpad);
        int seg = SEGMENT / 2;
        int segments = kpad / SEGMENT;
        byte[] out = new byte[Math.toIntExact(paddedRows(rows, W_ROWS) * kpad / 2)];
        for (int row = 0; row < rows; row++) {
            for (int s = 0; s < segments; s++) {
                long dst = ((long) (row / W_ROWS) * segments + s) * W_ROWS * seg + (long) (row % W_ROWS) * seg;
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
