package dev.nibble.api.numerics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The special-order matrices and the global Sylvester rotation built on them. */
class HadamardMatricesTest {

    @Test
    void everySpecialOrderIsHadamard() {
        for (int order : HadamardMatrices.SPECIAL_ORDERS) {
            int[][] h = HadamardMatrices.matrix(order);
            assertThat(h.length).as("order").isEqualTo(order);
            assertThat(HadamardMatrices.isHadamard(h)).as("order %d", order).isTrue();
        }
    }

    @Test
    void isHadamardRejectsNonHadamard() {
        int[][] h = HadamardMatrices.matrix(12);
        int[][] bad = new int[12][];
        for (int i = 0; i < 12; i++) {
            bad[i] = h[i].clone();
        }
        bad[3][5] = -bad[3][5];
        assertThat(HadamardMatrices.isHadamard(bad)).isFalse();
        assertThatThrownBy(() -> HadamardMatrices.matrix(44)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void galoisFieldOfOrder25() {
        HadamardMatrices.GaloisField f = new HadamardMatrices.GaloisField(5, 2);
        assertThat(f.size()).isEqualTo(25);
        // exactly half of the non-zero elements are squares, and χ is multiplicative
        int squares = 0;
        for (int a = 1; a < 25; a++) {
            squares += f.chi(a) == 1 ? 1 : 0;
            for (int b = 1; b < 25; b++) {
                assertThat(f.chi(f.mul(a, b))).isEqualTo(f.chi(a) * f.chi(b));
            }
        }
        assertThat(squares).isEqualTo(12);
        // -1 is a square when q = 1 (mod 4): required by Paley II
        assertThat(f.chi(f.sub(0, 1))).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(ints = {1152, 3072, 4608, 12288, 15360, 52 * 4, 156 * 2, 172 * 8})
    void globalRotationIsOrthogonal(int k) {
        Random r = new Random(k);
        int rows = 3;
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Rotation rot = Rotation.SylvesterHadamard.GLOBAL;
        float[] y = Hadamard.rotateRows(x, rows, k, rot);
        for (int row = 0; row < rows; row++) {
            double nx = 0;
            double ny = 0;
            for (int i = 0; i < k; i++) {
                nx += (double) x[row * k + i] * x[row * k + i];
                ny += (double) y[row * k + i] * y[row * k + i];
            }
            assertThat(ny / nx).as("norm ratio, row %d", row).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        // orthonormal rows: the images of unit vectors e_i (the rows of R) have inner products δ_ij
        int probes = 4;
        float[] e = new float[probes * k];
        for (int p = 0; p < probes; p++) {
            e[p * k + r.nextInt(k)] = 1f;
        }
        float[] er = Hadamard.rotateRows(e, probes, k, rot);
        for (int p = 0; p < probes; p++) {
            for (int q = 0; q < probes; q++) {
                double dot = 0;
                double want = 0;
                for (int i = 0; i < k; i++) {
                    dot += (double) er[p * k + i] * er[q * k + i];
                    want += (double) e[p * k + i] * e[q * k + i];
                }
                assertThat(dot).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5));
            }
        }
        // inverse = transpose: x = (x·R)·Rᵀ, i.e. x[c] = Σ_i y[i]·R[c][i], checked on the first coordinates
        float[] unit = new float[k];
        double maxErr = 0;
        double[] back = new double[k];
        for (int c = 0; c < k; c++) {
            java.util.Arrays.fill(unit, 0f);
            unit[c] = 1f;
            float[] rowC = Hadamard.rotateRows(unit, 1, k, rot); // row c of R
            for (int i = 0; i < k; i++) {
                back[c] += (double) y[i] * rowC[i]; // (y·Rᵀ)[c] = Σ_i y[i]·R[c][i]
            }
            if (c >= 64) {
                break; // 65 coordinates recovered are enough evidence; all of them would take K transforms
            }
        }
        int checked = Math.min(k, 65);
        for (int c = 0; c < checked; c++) {
            maxErr = Math.max(maxErr, Math.abs(back[c] - x[c]));
        }
        assertThat(maxErr).as("x recovered by the transpose").isLessThan(1e-4);
    }

    @Test
    void regularHadamardKeepsAConstantOffsetFlatWhileSylvesterConcentratesIt() {
        int n0 = 256;
        int k = 4 * n0;
        float offset = 3f;
        Random r = new Random(1);
        float[] x = new float[k];
        for (int i = 0; i < k; i++) {
            x[i] = offset + 0.01f * (float) r.nextGaussian();
        }
        Tensor t = Tensor.ofFloats(x, 1, k);
        float regular = maxAbs(Hadamard.rotate(t, new Rotation.RegularHadamard(n0)).toFloatArray());
        float sylvester = maxAbs(Hadamard.rotate(t, new Rotation.SylvesterHadamard(n0)).toFloatArray());
        // regular: equal row sums sqrt(N0), so a constant row maps to the same constant
        assertThat(regular / offset).isCloseTo(1f, org.assertj.core.data.Offset.offset(0.1f));
        // Sylvester: the first column sums to N0, the constant lands in one channel × sqrt(N0)
        assertThat(sylvester / offset).isCloseTo((float) Math.sqrt(n0), org.assertj.core.data.Offset.offset(0.5f));
    }

    private static float maxAbs(float[] v) {
        float m = 0f;
        for (float f : v) {
            m = Math.max(m, Math.abs(f));
        }
        return m;
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"3,1", "5,1", "7,1", "9,1", "11,1", "13,1", "15,1", "43,6"})
    void williamsonSearchFindsHadamardMatrices(int n, int g) {
        int[][] rows = new WilliamsonSearch(n, g).find();
        assertThat(rows).as("order %d", n).isNotNull();
        String[] text = new String[4];
        for (int b = 0; b < 4; b++) {
            StringBuilder sb = new StringBuilder();
            for (int v : rows[b]) {
                sb.append(v > 0 ? '+' : '-');
            }
            text[b] = sb.toString();
        }
        assertThat(HadamardMatrices.isHadamard(HadamardMatrices.williamsonArray(text))).isTrue();
        if (n == 43) {
            // the rows the library ships for order 172 are the ones this search finds
            assertThat(HadamardMatrices.williamsonArray(text)).isDeepEqualTo(HadamardMatrices.matrix(172));
        }
    }
}
