package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.numerics.Nf4;
import org.apiguardian.api.API;

/**
 * Reference codes (unpacked, one int per element), float32 scales and zero points of a
 * {@code rows × k} tensor, with the canonical packing written here again.
 *
 * @param codes {@code rows × k} codes
 * @param scales scales: 1, rows, or {@code rows × groups}
 * @param zeros zero points of the same length, all 0 for symmetric schemes
 * @param rows rows
 * @param k row width
 * @param scheme the scheme
 */
@API(status = EXPERIMENTAL, since = "0.1")
public record RefQuantized(int[] codes, float[] scales, int[] zeros, int rows, int k, QuantScheme scheme) {

    /**
     * @param row a row
     * @param col a column
     * @return the index into scales and zeros of that element
     */
    public int paramIndex(int row, int col) {
        return switch (scheme.granularity()) {
            case PER_TENSOR -> 0;
            case PER_CHANNEL, PER_TOKEN -> row;
            case PER_GROUP -> row * groups() + col / scheme.groupSize();
        };
    }

    /** @return groups per row (1 unless per group) */
    public int groups() {
        return scheme.granularity() == Granularity.PER_GROUP ? (k + scheme.groupSize() - 1) / scheme.groupSize() : 1;
    }

    /**
     * @param i flat element index
     * @return the exact dequantized value {@code (code - zero)·scale} (NF4: {@code value[code]·scale})
     */
    public double dequantized(int i) {
        int p = paramIndex(i / k, i % k);
        if (scheme.format() == QuantScheme.Format.NF4) {
            return (double) Nf4.value(codes[i]) * scales[p];
        }
        return (double) (codes[i] - zeros[p]) * scales[p];
    }

    /** @return the codes packed canonically (two per byte, low nibble first; one per byte for 8 bits) */
    public byte[] packedCodes() {
        if (scheme.codeType().isPacked()) {
            return pack(codes, rows, k);
        }
        byte[] b = new byte[codes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) codes[i];
        }
        return b;
    }

    /**
     * The canonical 4-bit packing, written independently of the API's: per row {@code ceil(k/2)}
     * bytes, element 2i in the low nibble, 2i+1 in the high nibble, a trailing nibble zero.
     *
     * @param codes {@code rows × k} codes
     * @param rows rows
     * @param k row width
     * @return packed bytes
     */
    public static byte[] pack(int[] codes, int rows, int k) {
        int rb = (k + 1) / 2;
        byte[] out = new byte[rows * rb];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < rb; i++) {
                int lo = codes[r * k + 2 * i] & 0xF;
                int hi = 2 * i + 1 < k ? codes[r * k + 2 * i + 1] & 0xF : 0;
                out[r * rb + i] = (byte) (lo | hi << 4);
            }
        }
        return out;
    }

    /**
     * Reads a canonical host quantized tensor (unpacking written here again).
     *
     * @param q the tensor
     * @return its codes and parameters
     */
    public static RefQuantized of(QuantizedTensor q) {
        int rows = Math.toIntExact(q.shape().rows());
        int k = Math.toIntExact(q.shape().cols());
        byte[] raw = q.codes().toByteArray();
        int[] codes = new int[rows * k];
        DType ct = q.scheme().codeType();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < k; c++) {
                int v;
                if (ct.isPacked()) {
                    int b = raw[r * ((k + 1) / 2) + c / 2] & 0xFF;
                    v = c % 2 == 0 ? b & 0xF : b >>> 4;
                    if (ct == DType.INT4 && v >= 8) {
                        v -= 16;
                    }
                } else {
                    v = ct == DType.I8 ? raw[r * k + c] : raw[r * k + c] & 0xFF;
                }
                codes[r * k + c] = v;
            }
        }
        float[] scales = q.scales().toFloatArray();
        int[] zeros = q.zeros() == null ? new int[scales.length] : q.zeros().toIntArray();
        return new RefQuantized(codes, scales, zeros, rows, k, q.scheme());
    }

    /** @return the host quantized tensor in canonical form, for upload */
    public QuantizedTensor toQuantizedTensor() {
        DType ct = scheme.codeType();
        Tensor c = Tensor.ofBytes(ct, packedCodes(), rows, k);
        long[] ss = switch (scheme.granularity()) {
            case PER_TENSOR -> new long[] {1};
            case PER_CHANNEL, PER_TOKEN -> new long[] {rows};
            case PER_GROUP -> new long[] {rows, groups()};
        };
        Tensor s = Tensor.ofFloats(scales, ss);
        Tensor z = scheme.symmetric() ? null : Tensor.ofInts(zeros, ss);
        return new QuantizedTensor(c, s, z, scheme);
    }
}
