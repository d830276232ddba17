package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.conformance.reference.RefGemm;
import dev.nibble.conformance.reference.RefQuantized;
import dev.nibble.conformance.reference.RefQuantizer;
import dev.nibble.conformance.reference.RefRotation;
import dev.nibble.conformance.reference.RefTensor;
import org.junit.jupiter.api.Test;

/** The reference itself, against hand-worked values and the definitions' properties. */
class ReferenceTest {

    @Test
    void regularHadamardIsOrthonormalWithEveryRowAndColumnSummingToOne() {
        for (int n : new int[] {4, 16, 64, 256}) {
            regular(n);
        }
    }

    private static void regular(int n) {
        double[][] h = RefRotation.regular(n);
        assertOrthonormal(h);
        for (int i = 0; i < n; i++) {
            double row = 0;
            double col = 0;
            for (int j = 0; j < n; j++) {
                row += h[i][j];
                col += h[j][i];
            }
            // H4 rows sum to 2 = sqrt(4); Kronecker powers multiply: 2^k, over the normalization 2^k
            assertThat(row).as("row %d", i).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-12));
            assertThat(col).as("column %d", i).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-12));
        }
    }

    @Test
    void regularFourIsTheGivenMatrixOverTwo() {
        double[][] h = RefRotation.regular(4);
        double[][] given = {{1, 1, 1, -1}, {1, 1, -1, 1}, {1, -1, 1, 1}, {-1, 1, 1, 1}};
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                assertThat(h[i][j]).isEqualTo(given[i][j] / 2);
            }
        }
    }

    @Test
    void sylvesterAndGlobalAreOrthonormal() {
        // (the quadratic check of order 1152 is the slow one: 1.5 G multiply-adds would be too many; 280 suffices)
        for (int k : new int[] {2, 8, 64, 24, 40, 56, 72, 104, 60, 108, 280, 156, 344}) {
            assertOrthonormal(Integer.bitCount(k) == 1 ? RefRotation.sylvester(k) : RefRotation.global(k));
        }
    }

    @Test
    void globalDecompositionTakesTheFirstSpecialOrder() {
        assertThat(RefRotation.hadK(1152)).isEqualTo(36);
        assertThat(RefRotation.hadK(3072)).isEqualTo(12);
        assertThat(RefRotation.hadK(80)).isEqualTo(20);
        assertThat(RefRotation.hadK(512)).isEqualTo(1);
        assertThatThrownBy(() -> RefRotation.hadK(100)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void groupedRotationZeroPads() {
        float[] x = {1, 2, 3, 4, 5};
        RefTensor y = RefRotation.apply(x, 1, 5, new Rotation.RegularHadamard(4));
        assertThat(y.shape()).containsExactly(1, 8);
        // second block is [5, 0, 0, 0]·H4/2 = 5/2·[1, 1, 1, -1]
        assertThat(y.value()).endsWith(2.5, 2.5, 2.5, -2.5);
        assertThat(y.value()[0]).isEqualTo((1 + 2 + 3 - 4) / 2.0);
    }

    @Test
    void roundingIsHalfToEvenInFloat32() {
        QuantScheme s = QuantScheme.symmetric(4, Granularity.PER_TOKEN);
        // absmax 7 → scale 1: ties at .5 go to the even neighbour
        float[] x = {7f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, -7.5f / 7.5f * 7f};
        RefQuantized q = RefQuantizer.quantize(x, 1, x.length, s);
        assertThat(q.scales()).containsExactly(1f);
        assertThat(q.codes()).containsExactly(7, 0, 2, 2, 0, -2, -2, -7);
    }

    @Test
    void affineZeroPointAndClamp() {
        QuantScheme s = QuantScheme.affine(4, Granularity.PER_TOKEN, 0);
        float[] x = {-8f, 7f, 0f, 2.5f};
        RefQuantized q = RefQuantizer.quantize(x, 1, 4, s);
        assertThat(q.scales()).containsExactly(1f); // (7 - -8) / 15
        assertThat(q.zeros()).containsExactly(8);
        assertThat(q.codes()).containsExactly(0, 15, 8, 10);
        RefQuantized st = RefQuantizer.quantizeStatic(new float[] {100f, -100f, 0.5f}, 1, 3, s.asStatic(), 1f, 8);
        assertThat(st.codes()).containsExactly(15, 0, 8);
    }

    @Test
    void zeroScaleGivesTheZeroCode() {
        RefQuantized q = RefQuantizer.quantize(new float[] {0, 0, 0, 0, 1, 2, 3, 4}, 2, 4, QuantScheme.symmetric(4, Granularity.PER_TOKEN));
        assertThat(q.scales()[0]).isZero();
        assertThat(q.codes()).startsWith(0, 0, 0, 0);
        RefQuantized n = RefQuantizer.quantize(new float[] {0, 0, 0, 0}, 1, 4, QuantScheme.nf4(4));
        assertThat(n.codes()).containsOnly(7); // NF4 value 0.0
    }

    @Test
    void packingIsLowNibbleFirstWithAZeroTrailingNibble() {
        byte[] p = RefQuantized.pack(new int[] {1, -2, 3, 4, -8}, 1, 5);
        assertThat(p).containsExactly((byte) 0xE1, (byte) 0x43, (byte) 0x08);
    }

    @Test
    void accumulatorsAreExactAndCheckedForInt32() {
        QuantScheme s = QuantScheme.symmetric(8, Granularity.PER_TOKEN);
        RefQuantized a = new RefQuantized(new int[] {127, -128, 5}, new float[] {1f}, new int[1], 1, 3, s);
        RefQuantized w = new RefQuantized(new int[] {127, 127, -1}, new float[] {1f}, new int[1], 1, 3, s);
        assertThat(RefGemm.accumulate(a, w)).containsExactly(127L * 127 - 128 * 127 - 5);
        int k = 140_000; // 127·127·140000 > 2^31
        int[] big = new int[k];
        java.util.Arrays.fill(big, 127);
        RefQuantized ba = new RefQuantized(big, new float[] {1f}, new int[1], 1, k, s);
        assertThatThrownBy(() -> RefGemm.accumulate(ba, ba)).isInstanceOf(ArithmeticException.class);
    }

    private static void assertOrthonormal(double[][] m) {
        int n = m.length;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double d = 0;
                for (int t = 0; t < n; t++) {
                    d += m[i][t] * m[j][t];
                }
                assertThat(d).as("row %d · row %d", i, j).isCloseTo(i == j ? 1 : 0, org.assertj.core.data.Offset.offset(1e-9));
            }
        }
    }
}
