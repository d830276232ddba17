package dev.nibble.api.numerics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Rotation;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HadamardTest {

    @Test
    void regular4x4MatchesDefinition() {
        float[] x = {1f, 2f, 3f, 4f};
        float[] y = Hadamard.rotateRows(x, 1, 4, new Rotation.RegularHadamard(4));
        // x·H4/2 with H4 = [[1,1,1,-1],[1,1,-1,1],[1,-1,1,1],[-1,1,1,1]]
        assertThat(y).containsExactly((1 + 2 + 3 - 4) / 2f, (1 + 2 - 3 + 4) / 2f, (1 - 2 + 3 + 4) / 2f, (-1 + 2 + 3 + 4) / 2f);
    }

    @Test
    void rotationsPreserveNormAndPadToBlocks() {
        Random r = new Random(1);
        int k = 100;
        float[] x = new float[k];
        double n2 = 0;
        for (int i = 0; i < k; i++) {
            x[i] = (float) r.nextGaussian();
            n2 += x[i] * x[i];
        }
        for (Rotation rot : new Rotation[] {new Rotation.RegularHadamard(16), new Rotation.SylvesterHadamard(32)}) {
            float[] y = Hadamard.rotateRows(x, 1, k, rot);
            assertThat(y).hasSize(rot.outputDim(k));
            double m2 = 0;
            for (float v : y) {
                m2 += v * v;
            }
            assertThat(m2).isCloseTo(n2, org.assertj.core.data.Offset.offset(1e-3 * n2));
        }
    }

    @Test
    void specialOrdersBuiltSoFarAreHadamard() {
        for (int n : new int[] {12, 20, 28, 36, 40, 60, 108, 140}) {
            assertThat(HadamardMatrices.isHadamard(HadamardMatrices.matrix(n))).as("order %d", n).isTrue();
        }
        assertThat(HadamardMatrices.decompose(1152)).containsExactly(36, 32);
        assertThat(HadamardMatrices.decompose(4096)).containsExactly(1, 4096);
        assertThat(HadamardMatrices.decompose(448)).containsExactly(28, 16);
        assertThatThrownBy(() -> HadamardMatrices.decompose(400)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("400");
    }
}
