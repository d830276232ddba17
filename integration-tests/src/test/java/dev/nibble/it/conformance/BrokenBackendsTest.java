package dev.nibble.it.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.conformance.BackendConformance;
import dev.nibble.conformance.ConformanceRunner;
import dev.nibble.conformance.Mutants;
import dev.nibble.conformance.SelectedBackendConformance;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The kit bites: the CPU backend wrapped in deliberately broken decorators fails it, the CPU
 * backend itself passes the same areas (quantization and GEMMs, where the faults live).
 */
class BrokenBackendsTest {
    private static final String[] AREAS = {"quantization", "gemms"};

    /** CPU, rounding half away from zero in quantize. */
    static class HalfAwaySuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return Mutants.halfAwayRounding(Backends.open("cpu"));
        }
    }

    /** CPU, packing 4-bit codes high nibble first. */
    static class SwappedNibblesSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return Mutants.swappedNibbles(Backends.open("cpu"));
        }
    }

    private static ConformanceRunner.Summary run(Class<? extends BackendConformance> suite, Map<String, String> config,
            StringWriter text) {
        ConformanceRunner.Summary s = ConformanceRunner.execute(suite, config, new PrintWriter(text), AREAS);
        System.out.println(text);
        return s;
    }

    @Test
    void theRealCpuBackendPasses() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = run(SelectedBackendConformance.class, Map.of(BackendConformance.BACKEND, "cpu"), text);
        assertThat(s.failed()).as(text.toString()).isZero();
        assertThat(s.passed()).as(text.toString()).isGreaterThan(300);
        assertThat(s.entries().get("backend")).startsWith("cpu");
    }

    @Test
    void halfAwayFromZeroRoundingFails() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = run(HalfAwaySuite.class, Map.of(), text);
        assertThat(s.failed()).as(text.toString()).isGreaterThan(0);
        for (int bits : new int[] {4, 8}) {
            assertThat(s.group(new Capability.Quantize(bits).describe()).orElseThrow().failed())
                    .as("int%d quantize must fail", bits).isNotEmpty();
        }
        assertThat(text.toString()).contains("codes").contains("must be bit-identical");
    }

    @Test
    void swappedNibblesFail() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = run(SwappedNibblesSuite.class, Map.of(), text);
        assertThat(s.failed()).as(text.toString()).isGreaterThan(0);
        assertThat(s.group(new Capability.Quantize(4).describe()).orElseThrow().failed()).isNotEmpty();
        assertThat(s.group(new Capability.WeightOnlyGemm(dev.nibble.api.DType.INT4).describe()).orElseThrow().failed())
                .isNotEmpty();
    }

    @Test
    void anUnknownBackendFailsTheRunWithExitStatusOne() {
        StringWriter text = new StringWriter();
        int status = ConformanceRunner.run("no-such-backend", new PrintWriter(text));
        assertThat(status).as(text.toString()).isEqualTo(1);
        String[] lines = text.toString().strip().split("\\R");
        assertThat(lines[lines.length - 1]).matches("0 passed, [1-9]\\d* failed, 0 skipped");
        assertThat(text.toString()).contains("no-such-backend");
    }
}
