package dev.nibble.methods.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.methods.core.Mat;
import org.junit.jupiter.api.Test;

class RotationStudyTest {

    @Test
    void rowWiseOffsetsStayFlatUnderRegularAndGrowUnderSylvester() {
        int k = 256;
        float[] x = SyntheticActivations.dit(64, k, true, 1, 2).generate(1f);
        double syl4 = RotationStudy.measure(x, 64, k, new Rotation.SylvesterHadamard(4))[0];
        double syl256 = RotationStudy.measure(x, 64, k, new Rotation.SylvesterHadamard(256))[0];
        double reg4 = RotationStudy.measure(x, 64, k, new Rotation.RegularHadamard(4))[0];
        double reg256 = RotationStudy.measure(x, 64, k, new Rotation.RegularHadamard(256))[0];
        assertThat(syl256 / syl4).isGreaterThan(3);
        assertThat(reg256 / reg4).isLessThan(1.5);
        assertThat(RotationStudy.measure(x, 64, k, new Rotation.RegularHadamard(256))[1])
                .isGreaterThan(RotationStudy.measure(x, 64, k, new Rotation.SylvesterHadamard(256))[1]);
    }

    @Test
    void randomOrthogonalBlocksAreOrthogonal() {
        int k = 32;
        Rotation r = RotationStudy.randomOrthogonal(k, 8, 5);
        float[] x = dev.nibble.methods.core.TestData.gaussian(3 * k, 1, 1);
        float[] xr = Hadamard.rotateRows(x, 3, k, r);
        assertThat(Mat.energy(xr)).isCloseTo(Mat.energy(x), within(1e-3 * Mat.energy(x)));
    }

    @Test
    void generatorIsDeterministicAndHasTheDocumentedOutliers() {
        SyntheticActivations s = SyntheticActivations.dit(64, 128, false, 3, 4);
        assertThat(s.generate(1f)).containsExactly(s.generate(1f));
        assertThat(Mat.absMax(s.generate(1f))).isGreaterThan(40); // the massive activations
    }
}
