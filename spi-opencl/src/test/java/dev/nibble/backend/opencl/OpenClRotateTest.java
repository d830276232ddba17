package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.numerics.Hadamard;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every rotation bit-identical to the canonical host order of numerics/Hadamard. */
class OpenClRotateTest {

    static Stream<Arguments> cases() {
        Random r = new Random(3);
        float[] q = new float[48 * 48];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian() / 7f;
        }
        return Stream.of(
                Arguments.of(new Rotation.RegularHadamard(4), 30),
                Arguments.of(new Rotation.RegularHadamard(16), 64),
                Arguments.of(new Rotation.RegularHadamard(64), 100),
                Arguments.of(new Rotation.RegularHadamard(256), 256),
                Arguments.of(new Rotation.RegularHadamard(1024), 1100),
                Arguments.of(new Rotation.SylvesterHadamard(8), 21),
                Arguments.of(new Rotation.SylvesterHadamard(128), 256),
                Arguments.of(Rotation.SylvesterHadamard.GLOBAL, 256),
                Arguments.of(Rotation.SylvesterHadamard.GLOBAL, 96),
                Arguments.of(Rotation.SylvesterHadamard.GLOBAL, 80),
                Arguments.of(Rotation.SylvesterHadamard.GLOBAL, 108 * 2),
                Arguments.of(Rotation.SylvesterHadamard.GLOBAL, 40),
                Arguments.of(new Rotation.Dense(Tensor.ofFloats(q, 48, 48), "gauss"), 48),
                Arguments.of(new Rotation.Identity(), 33));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesTheCanonicalOrderBitForBit(Rotation rotation, int k) {
        OpenClBackend b = ClTestSupport.backend();
        Tensor x = ClTestSupport.random(new Random(k), 2f, 5, k);
        Tensor want = Hadamard.rotate(x, rotation);
        try (DeviceTensor dx = b.upload(x); DeviceTensor y = b.rotate(dx, rotation)) {
            Tensor got = b.download(y);
            assertThat(got.shape()).isEqualTo(want.shape());
            assertThat(got.toByteArray()).as(rotation.describe() + " K=" + k).isEqualTo(want.toByteArray());
        }
    }
}
