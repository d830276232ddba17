package dev.nibble.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every Nibble implementation of {@link GemmBenchmark} sets up on the CPU backend and returns an [M, N] output. */
class NibbleCasesTest {
    @ParameterizedTest
    @ValueSource(strings = {"f32", "w8a8", "w4a4", "w4a4-g64", "w8a8-kernel", "w4a4-kernel", "w4a16-g64",
        "w4a16-g64-prep", "nf4-g64-prep"})
    void setsUpAndRuns(String impl) {
        for (int m : new int[] {1, 5}) {
            GemmBenchmark b = new GemmBenchmark();
            b.impl = impl;
            b.m = m;
            b.kn = "128x100";
            b.backend = "cpu";
            b.setUp();
            try {
                assertThat(b.gemm()).as(impl).isEqualTo(Shape.of(m, 100));
            } finally {
                b.tearDown();
            }
        }
    }
}
