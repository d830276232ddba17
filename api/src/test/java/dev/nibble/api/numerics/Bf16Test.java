package dev.nibble.api.numerics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bf16Test {
    /**
     * An independent oracle: the nearest of the two bfloat16 neighbours by exact (double)
     * distance, ties to the even mantissa, infinity standing for 2^128 as IEEE overflow rounding
     * says (an unbounded exponent, then overflow).
     */
    private static short nearest(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = bits & 0x8000_0000;
        int lo = (bits & 0x7FFF_0000) >>> 16; // magnitude rounded toward zero
        int hi = lo + 1; // the next magnitude up (0x7F80 = infinity)
        double mag = Math.abs((double) v);
        double dLo = mag - magnitude(lo);
        double dHi = magnitude(hi) - mag;
        int pick = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) == 0 ? lo : hi);
        return (short) ((sign >>> 16) | pick);
    }

    private static double magnitude(int bf16) {
        return bf16 == 0x7F80 ? 0x1p128 : Float.intBitsToFloat(bf16 << 16);
    }

    @Test
    void roundingMatchesTheNearestEvenOracleOnEveryExponentAndTie() {
        int[] lows = {0x0000, 0x0001, 0x3FFF, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFFFF};
        SplittableRandom r = new SplittableRandom(7);
        int checked = 0;
        for (int hi = 0; hi < 0x10000; hi++) {
            if ((hi & 0x7FFF) >= 0x7F80) {
                continue; // infinities and NaNs: below
            }
            for (int i = 0; i <= lows.length; i++) {
                int low = i < lows.length ? lows[i] : r.nextInt(0x10000);
                float v = Float.intBitsToFloat(hi << 16 | low);
                short got = Bf16.round(v);
                short want = nearest(v);
                if (got != want) {
                    throw new AssertionError(String.format("round(%08x) = %04x, nearest even is %04x",
                            hi << 16 | low, got, want));
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(2 * 0x7F80 * (lows.length + 1));
    }

    @Test
    void tiesGoToTheEvenMantissa() {
        assertThat(Bf16.round(Float.intBitsToFloat(0x3F80_8000))).isEqualTo((short) 0x3F80); // 1 + 2^-8 -> 1
        assertThat(Bf16.round(Float.intBitsToFloat(0x3F81_8000))).isEqualTo((short) 0x3F82); // odd rounds up
        assertThat(Bf16.round(Float.intBitsToFloat(0xBF81_8000))).isEqualTo((short) 0xBF82);
        assertThat(Bf16.round(Float.intBitsToFloat(0x3F80_8001))).isEqualTo((short) 0x3F81); // above the tie
        assertThat(Bf16.round(Float.intBitsToFloat(0x3F81_7FFF))).isEqualTo((short) 0x3F81); // below the tie
    }

    @Test
    void overflowGoesToInfinityAndInfinitiesStay() {
        float maxBf16 = Float.intBitsToFloat(0x7F7F_0000);
        assertThat(Bf16.round(maxBf16)).isEqualTo((short) 0x7F7F);
        assertThat(Bf16.round(Float.intBitsToFloat(0x7F7F_7FFF))).isEqualTo((short) 0x7F7F);
        assertThat(Bf16.round(Float.intBitsToFloat(0x7F7F_8000))).isEqualTo((short) 0x7F80); // tie, odd: up to +inf
        assertThat(Bf16.round(Float.MAX_VALUE)).isEqualTo((short) 0x7F80);
        assertThat(Bf16.round(-Float.MAX_VALUE)).isEqualTo((short) 0xFF80);
        assertThat(Bf16.round(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        assertThat(Bf16.round(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
    }

    @Test
    void nanStaysNanWhateverItsPayload() {
        for (int payload : new int[] {1, 0x7FFF, 0x8000, 0x10000, 0x3F_FFFF, 0x40_0000, 0x7F_FFFF}) {
            for (int sign : new int[] {0, 0x8000_0000}) {
                float nan = Float.intBitsToFloat(sign | 0x7F80_0000 | payload);
                short b = Bf16.round(nan);
                assertThat(Bf16.isNaN(b)).as("round(%08x) = %04x", sign | 0x7F80_0000 | payload, b).isTrue();
                assertThat(Float.isNaN(Bf16.widen(b))).isTrue();
                assertThat(b & 0x8000).isEqualTo(sign >>> 16);
            }
        }
    }

    @Test
    void subnormalsAndSignedZerosRoundWithoutFlushing() {
        assertThat(Bf16.round(Float.MIN_VALUE)).isEqualTo((short) 0x0000); // far below half an ulp
        assertThat(Bf16.round(Float.intBitsToFloat(0x0000_8001))).isEqualTo((short) 0x0001);
        assertThat(Bf16.round(Float.intBitsToFloat(0x8001_0000))).isEqualTo((short) 0x8001);
        assertThat(Bf16.round(-0f)).isEqualTo((short) 0x8000);
        assertThat(Bf16.round(Float.intBitsToFloat(0x007F_FFFF))).isEqualTo((short) 0x0080); // up into the normals
    }

    @Test
    void wideningIsExactAndRoundingInvertsItForEveryBf16() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Bf16.widen((short) b);
            assertThat(Float.floatToRawIntBits(f)).isEqualTo(b << 16);
            if (!Bf16.isNaN((short) b)) {
                assertThat(Bf16.round(f)).isEqualTo((short) b);
            } else {
                assertThat(Float.isNaN(f)).isTrue();
            }
        }
    }

    @Test
    void arrayFormsAgreeWithTheScalarOnes() {
        SplittableRandom r = new SplittableRandom(3);
        float[] f = new float[37];
        for (int i = 0; i < f.length; i++) {
            f[i] = Float.intBitsToFloat(r.nextInt());
        }
        short[] s = new short[40];
        Bf16.round(f, 2, s, 3, 35);
        float[] back = new float[40];
        Bf16.widen(s, 3, back, 1, 35);
        for (int i = 0; i < 35; i++) {
            assertThat(s[3 + i]).isEqualTo(Bf16.round(f[2 + i]));
            assertThat(Float.floatToRawIntBits(back[1 + i])).isEqualTo(Float.floatToRawIntBits(Bf16.widen(s[3 + i])));
        }
        assertThat(s[0]).isZero();
        assertThat(back[0]).isZero();
    }
}
