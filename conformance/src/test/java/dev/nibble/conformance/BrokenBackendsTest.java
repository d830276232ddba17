package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.backend.KernelBackend;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kit bites: deliberately broken backends fail it, the honest scalar backend does not. */
class BrokenBackendsTest {

    /** The scalar backend, rounding half away from zero in quantize. */
    static class HalfAwaySuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return Mutants.halfAwayRounding(new ScalarBackend());
        }
    }

    /** The scalar backend, packing 4-bit codes high nibble first. */
    static class SwappedNibblesSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return Mutants.swappedNibbles(new ScalarBackend());
        }
    }

    private static ConformanceRunner.Summary run(Class<? extends BackendConformance> suite, StringWriter text) {
        ConformanceRunner.Summary s = ConformanceRunner.execute(suite, Map.of(), new PrintWriter(text), "quantization", "gemms");
        System.out.println(text);
        return s;
    }

    @Test
    void halfAwayFromZeroRoundingFailsTheQuantizeTests() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(HalfAwaySuite.class, Map.of(), new PrintWriter(text), "quantization");
        System.out.println(text);
        assertThat(s.failed()).as(text.toString()).isGreaterThan(0);
        assertThat(s.group(new dev.nibble.api.backend.Capability.Quantize(4).describe()).orElseThrow().failed())
                .as(text.toString()).isNotEmpty();
        assertThat(s.group(new dev.nibble.api.backend.Capability.Quantize(8).describe()).orElseThrow().failed())
                .as(text.toString()).isNotEmpty();
        assertThat(text.toString()).contains("codes").contains("must be bit-identical");
    }

    @Test
    void swappedNibblesFailInt4ButNotInt8() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = run(SwappedNibblesSuite.class, text);
        assertThat(s.failed()).as(text.toString()).isGreaterThan(0);
        assertThat(s.group(new dev.nibble.api.backend.Capability.Quantize(4).describe()).orElseThrow().failed())
                .as(text.toString()).isNotEmpty();
        assertThat(s.group(new dev.nibble.api.backend.Capability.IntGemm(4, 4, false).describe()).orElseThrow().failed())
                .as(text.toString()).isNotEmpty();
        // 8-bit codes are not packed: the same decorator leaves them alone, and the kit sees no fault there
        assertThat(s.group(new dev.nibble.api.backend.Capability.IntGemm(8, 8, false).describe()).orElseThrow().failed())
                .as(text.toString()).isEmpty();
    }

    /** The scalar backend rounding BF16 forward results half away from zero. */
    static class Bf16HalfAwaySuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return Mutants.bf16HalfAwayRounding(new ScalarBackend());
        }
    }

    @Test
    void bf16TiesRoundedAwayFromZeroFailTheRoundingCase() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(Bf16HalfAwaySuite.class, Map.of(), new PrintWriter(text),
                "bf16Activations");
        System.out.println(text);
        assertThat(s.groups()).hasSize(FusedCases.recipes().size() + 1);
        assertThat(s.groups()).allSatisfy(g -> assertThat(g.name()).startsWith(Bf16Cases.PREFIX));
        assertThat(s.group(Bf16Cases.ROUNDING).orElseThrow().failed()).as(text.toString())
                .anyMatch(f -> f.contains("RNE("));
    }

    /** The scalar backend whose fused forward is off by 0.1%. */
    static class SlightlyWrongSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return new BrokenBackends.SlightlyWrongForward(new ScalarBackend());
        }
    }

    /** The scalar backend whose GELU forgets one element. */
    static class UnwrittenSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return new BrokenBackends.UnwrittenLastElement(new ScalarBackend());
        }
    }

    @Test
    void aFusedPathOffByOnePerMilleFailsEveryPlan() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(SlightlyWrongSuite.class, Map.of(), new PrintWriter(text), "fusedLinear");
        System.out.println(text);
        assertThat(s.groups()).hasSize(FusedCases.recipes().size()).hasSize(8);
        for (ConformanceRunner.Group g : s.groups()) {
            assertThat(g.failed()).as(g.name() + "\n" + text).isNotEmpty();
        }
    }

    @Test
    void anUnwrittenElementFails() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(UnwrittenSuite.class, Map.of(), new PrintWriter(text), "ditOps");
        System.out.println(text);
        assertThat(s.group(new dev.nibble.api.backend.Capability.DitOps().describe()).orElseThrow().failed())
                .as(text.toString()).anyMatch(f -> f.startsWith("gelu"));
    }

    /** A recycling allocator and a GELU that skips one element. */
    static class ForgetfulSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return new BrokenBackends.ForgetfulPooledGelu();
        }
    }

    /** The honest scalar backend with the recycling allocator. */
    static class PooledSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            return new ScalarBackend().pooling();
        }
    }

    @Test
    void poisonedRecycledMemoryExposesAnUnwrittenElement() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(ForgetfulSuite.class, Map.of(), new PrintWriter(text), "ditOps");
        System.out.println(text);
        assertThat(s.group(new dev.nibble.api.backend.Capability.DitOps().describe()).orElseThrow().failed())
                .as(text.toString()).anyMatch(f -> f.startsWith("gelu") && f.contains("got NaN"));
        StringWriter honest = new StringWriter();
        ConformanceRunner.Summary h = ConformanceRunner.execute(PooledSuite.class, Map.of(), new PrintWriter(honest), "ditOps", "core");
        assertThat(h.failed()).as(honest.toString()).isZero();
    }

    @Test
    void theHonestBackendPassesAndTheLastLineCounts() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(ScalarOnlySuite.class, Map.of(), new PrintWriter(text), "quantization");
        assertThat(s.failed()).as(text.toString()).isZero();
        assertThat(s.passed()).isGreaterThan(100);
        String[] lines = text.toString().strip().split("\\R");
        assertThat(lines[lines.length - 1]).isEqualTo(s.passed() + " passed, 0 failed, " + s.skipped() + " skipped");
    }

    /** The honest scalar backend without NF4, to see "unsupported" reported as skipped. */
    static class ScalarOnlySuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            java.util.Set<dev.nibble.api.backend.Capability> caps = new java.util.HashSet<>(ScalarBackend.ALL);
            caps.remove(new dev.nibble.api.backend.Capability.QuantizeNf4());
            return new ScalarBackend(caps);
        }
    }

    /** The honest scalar backend declaring one capability the kit has no tests for. */
    static class OverDeclaringSuite extends BackendConformance {
        @Override
        protected KernelBackend openBackend() {
            java.util.Set<dev.nibble.api.backend.Capability> caps = new java.util.HashSet<>(ScalarBackend.ALL);
            caps.add(new dev.nibble.api.backend.Capability.WeightOnlyGemm(dev.nibble.api.DType.F16));
            return new ScalarBackend(caps);
        }
    }

    @Test
    void aDeclaredCapabilityTheKitDoesNotCoverIsReportedNotSilentlyPassed() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(OverDeclaringSuite.class, Map.of(), new PrintWriter(text), "coverage");
        assertThat(s.passed()).isZero();
        assertThat(s.failed()).isZero();
        assertThat(s.skipped()).as(text.toString()).isEqualTo(1);
        assertThat(text.toString()).contains("not covered by this kit: GEMM float x F16 weights");
    }

    @Test
    void anUndeclaredCapabilityIsReportedUnsupported() {
        StringWriter text = new StringWriter();
        ConformanceRunner.Summary s = ConformanceRunner.execute(ScalarOnlySuite.class, Map.of(), new PrintWriter(text), "quantization");
        ConformanceRunner.Group nf4 = s.group(new dev.nibble.api.backend.Capability.QuantizeNf4().describe()).orElseThrow();
        assertThat(nf4.unsupported()).as(text.toString()).isTrue();
        assertThat(nf4.skipped()).containsExactly("unsupported: quantize nf4");
        assertThat(text.toString()).contains("UNSUPPORTED quantize nf4");
    }
}
