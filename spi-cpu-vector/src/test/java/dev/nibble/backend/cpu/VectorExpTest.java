package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** VectorExp is accurate, handles the edges, and gives the same bits cold (interpreted) and hot (C2). */
class VectorExpTest {
    static final int L = VectorKernels.L;

    static float[] apply(float[] x, boolean tanh) {
        float[] y = new float[x.length];
        for (int i = 0; i + L <= x.length; i += L) {
            FloatVector v = FloatVector.fromArray(VectorKernels.F, x, i);
            (tanh ? VectorExp.tanh(v) : VectorExp.exp(v)).intoArray(y, i);
        }
        return y;
    }

    @Test
    void expIsWithinTwoUlpOnItsRange() {
        float[] x = new float[L * 20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = -87f + 175f * i / x.length;
        }
        float[] y = apply(x, false);
        for (int i = 0; i < x.length; i++) {
            float want = (float) Math.exp(x[i]);
            assertThat(Math.abs(y[i] - want)).as("exp(%s)", x[i]).isLessThanOrEqualTo(2 * Math.ulp(want));
        }
    }

    @Test
    void edges() {
        float[] x = new float[L];
        Arrays.fill(x, 0f);
        float[] edge = {0f, -0f, 1f, -100f, 100f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        System.arraycopy(edge, 0, x, 0, Math.min(L, edge.length));
        float[] y = apply(x, false);
        assertThat(y[0]).isEqualTo(1f);
        assertThat(y[1]).isEqualTo(1f);
        if (L >= 8) {
            assertThat(y[2]).isCloseTo((float) Math.E, org.assertj.core.data.Offset.offset(2 * Math.ulp((float) Math.E)));
            assertThat(y[3]).isZero();
            assertThat(y[4]).isEqualTo(Float.POSITIVE_INFINITY);
            assertThat(y[5]).isNaN();
            assertThat(y[6]).isZero();
            assertThat(y[7]).isEqualTo(Float.POSITIVE_INFINITY);
            float[] t = apply(x, true);
            assertThat(t[0]).isZero();
            assertThat(t[3]).isEqualTo(-1f);
            assertThat(t[4]).isEqualTo(1f);
            assertThat(t[5]).isNaN();
        }
    }

    @Test
    void tanhIsWithinTwoTenMillionthsAbsolute() {
        float[] x = new float[L * 20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = -12f + 24f * i / x.length;
        }
        float[] y = apply(x, true);
        for (int i = 0; i < x.length; i++) {
            assertThat((double) Math.abs(y[i] - (float) Math.tanh(x[i]))).as("tanh(%s)", x[i]).isLessThan(2.5e-7);
        }
    }

    @Test
    void sameBitsColdAndAfterC2() {
        Random r = new Random(1);
        float[] x = new float[L * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * 10f;
        }
        float[] cold = apply(x, false);
        float[] coldTanh = apply(x, true);
        for (int i = 0; i < 3000; i++) { // enough calls for C2 to compile exp/tanh
            apply(x, (i & 1) == 0);
        }
        assertThat(apply(x, false)).isEqualTo(cold);
        assertThat(apply(x, true)).isEqualTo(coldTanh);
    }
}
