package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The two conversions between bfloat16 and float32 that every backend performs the same way, bit
 * for bit. A bfloat16 is the upper 16 bits of a binary32 (sign, 8 exponent bits, 7 mantissa bits),
 * held here in a {@code short}.
 *
 * <ul>
 *   <li>{@link #widen}: exact; every bfloat16 is a float32 (subnormals, infinities and NaN payloads
 *       included).
 *   <li>{@link #round}: round to nearest, ties to even (RNE), on the 16 dropped bits. Finite values
 *       at or beyond half an ulp above the largest bfloat16 ({@code 0x1.FEp127}) become ±infinity;
 *       subnormals round like normals (no flush to zero); a NaN stays a NaN (quiet; this
 *       implementation keeps the sign and the leading payload bits, a backend may return any NaN).
 * </ul>
 *
 * <p>This is what {@link dev.nibble.api.backend.PreparedLinear#forward} does with BF16 activations:
 * widen on the way in, round the F32 result on the way out.
 */
@API(status = STABLE, since = "0.1")
public final class Bf16 {
    /** The quiet bit of a bfloat16 NaN (the leading mantissa bit). */
    private static final int QUIET = 0x40;

    private Bf16() {
    }

    /**
     * @param bits a bfloat16
     * @return its exact float32 value
     */
    public static float widen(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * @param value a float32
     * @return the nearest bfloat16, ties to even; a NaN gives a quiet NaN
     */
    public static short round(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((bits >>> 16) | QUIET);
        }
        // adding 0x7FFF plus the lowest kept bit carries into bit 16 exactly when RNE rounds up;
        // the carry out of the largest finite values lands on the infinity pattern, as it should
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * Widens {@code n} bfloat16 values.
     *
     * @param src bfloat16 values
     * @param srcOffset first index read
     * @param dst float32 values
     * @param dstOffset first index written
     * @param n count
     */
    public static void widen(short[] src, int srcOffset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat((src[srcOffset + i] & 0xFFFF) << 16);
        }
    }

    /**
     * Rounds {@code n} float32 values to bfloat16 as {@link #round(float)} does.
     *
     * @param src float32 values
     * @param srcOffset first index read
     * @param dst bfloat16 values
     * @param dstOffset first index written
     * @param n count
     */
    public static void round(float[] src, int srcOffset, short[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = round(src[srcOffset + i]);
        }
    }

    /**
     * @param bits a bfloat16
     * @return true if it is a NaN
     */
    public static boolean isNaN(short bits) {
        return (bits & 0x7FFF) > 0x7F80;
    }
}
