package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The canonical 4-bit packing: row-major; each row of K codes takes {@code ceil(K / 2)} bytes;
 * element {@code 2i} of a row in the low nibble of byte i, element {@code 2i+1} in the high nibble;
 * signed codes in two's complement. A trailing unused nibble (odd K) is zero. This is the layout
 * of QuaRot/ConvRot and ONNX Runtime's MatMulNBits.
 */
@API(status = STABLE, since = "0.1")
public final class Int4Packing {
    private Int4Packing() {
    }

    /**
     * @param k codes per row
     * @return bytes per packed row
     */
    public static int rowBytes(int k) {
        return (k + 1) / 2;
    }

    /**
     * @param codes {@code rows × k} codes, each in [-8, 15] (only the low 4 bits are kept)
     * @param rows number of rows
     * @param k codes per row
     * @return the packed bytes
     */
    public static byte[] pack(int[] codes, int rows, int k) {
        int rb = rowBytes(k);
        byte[] out = new byte[rows * rb];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < k; c++) {
                int nib = codes[r * k + c] & 0xF;
                int idx = r * rb + (c >> 1);
                out[idx] = (byte) ((c & 1) == 0 ? (out[idx] & 0xF0) | nib : (out[idx] & 0x0F) | (nib << 4));
            }
        }
        return out;
    }

    /**
     * @param packed packed bytes
     * @param rows number of rows
     * @param k codes per row
     * @param signed sign-extend (INT4) or not (UINT4, NF4)
     * @return {@code rows × k} codes
     */
    public static int[] unpack(byte[] packed, int rows, int k, boolean signed) {
        int rb = rowBytes(k);
        int[] out = new int[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < k; c++) {
                int b = packed[r * rb + (c >> 1)];
                int nib = (c & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
                out[r * k + c] = signed ? (nib << 28) >> 28 : nib;
            }
        }
        return out;
    }
}
