package dev.nibble.methods.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.numerics.Hadamard;
import org.junit.jupiter.api.Test;

class CoreTest {

    @Test
    void truncatedSvdReproducesAnExactLowRankMatrix() {
        int m = 40;
        int n = 30;
        int r = 5;
        float[] a = Mat.matmulNT(TestData.gaussian(m * r, 1, 1), m, r, TestData.gaussian(n * r, 2, 1), n);
        TruncatedSvd.Result s = TruncatedSvd.compute(a, m, n, r, 2, 7);
        float[] back = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int c = 0; c < r; c++) {
                    acc += s.u()[i * r + c] * s.sigma()[c] * s.v()[j * r + c];
                }
                back[i * n + j] = (float) acc;
            }
        }
        assertThat(Mat.nmse(a, back)).isLessThan(1e-10);
        assertThat(s.sigma()[0]).isGreaterThanOrEqualTo(s.sigma()[1]);
    }

    @Test
    void truncatedSvdFindsTheLeadingSingularValuesOfADiagonalMatrix() {
        int n = 12;
        float[] a = new float[n * n];
        for (int i = 0; i < n; i++) {
            a[i * n + i] = i + 1; // singular values 12, 11, ..., 1
        }
        TruncatedSvd.Result s = TruncatedSvd.compute(a, n, n, 3, 4, 3);
        assertThat(s.sigma()[0]).isCloseTo(12, within(1e-9));
        assertThat(s.sigma()[1]).isCloseTo(11, within(1e-9));
        assertThat(s.sigma()[2]).isCloseTo(10, within(1e-9));
    }

    @Test
    void simulatorRunsADensePlanWithSmoothingAndRotationLikeTheLayer() {
        int k = 8;
        float[] w = TestData.gaussian(3 * k, 5, 1);
        float[] x = TestData.gaussian(2 * k, 6, 1);
        float[] s = {2, 1, 0.5f, 4, 1, 1, 3, 1};
        float[] ws = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            ws[i] = w[i] * s[i % k];
        }
        Rotation r = new Rotation.RegularHadamard(4);
        QuantizedLinear plan = QuantizedLinear.builder("l", k, 3).smooth(Tensor.ofFloats(s, k)).rotation(r)
                .denseWeight(Tensor.ofFloats(Hadamard.rotateRows(ws, 3, k, r), 3, k)).build();
        float[] y = new PlanSimulator(plan).forward(x, 2, 0);
        float[] ref = PlanSimulator.reference(w, null, x, 2, k, 3);
        for (int i = 0; i < y.length; i++) {
            assertThat(y[i]).isCloseTo(ref[i], within(1e-4f));
        }
    }

    @Test
    void scopeParsesPartsAndNamesTheOptionWhenWrong() {
        Scope s = Scope.parse("default", "blocks");
        assertThat(s.includes(LayerRole.MLP_FC2)).isTrue();
        assertThat(s.includes(LayerRole.ADALN_MODULATION)).isFalse();
        assertThat(Scope.parse("blocks,temporal", "blocks").includes(LayerRole.TIMESTEP_MLP)).isTrue();
        assertThat(Scope.parse("all", "blocks").includes(LayerRole.PATCH_EMBED)).isTrue();
        assertThatThrownBy(() -> Scope.parse("blocks,heads", "blocks")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'scope'").hasMessageContaining("heads");
    }
}
