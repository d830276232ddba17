package dev.nibble.conformance;

import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nibble.api.backend.Capability;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicNode;

/** Which declared capabilities the kit covers; the rest are reported, never silently ignored. */
final class Coverage {
    /** Prefix of the groups of declared capabilities the kit has no tests for. */
    static final String NOT_COVERED = "not covered by this kit: ";

    private Coverage() {
    }

    static boolean covered(Capability c) {
        return switch (c) {
            case Capability.Rotate r -> true;
            case Capability.SmoothShift s -> true;
            case Capability.Quantize q -> q.bits() == 4 || q.bits() == 8;
            case Capability.QuantizeNf4 n -> true;
            case Capability.IntGemm g -> {
                for (int[] b : GemmCases.INT_GEMM_BITS) {
                    if (b[0] == g.activationBits() && b[1] == g.weightBits()) {
                        yield true;
                    }
                }
                yield false;
            }
            case Capability.WeightOnlyGemm w -> List.of(GemmCases.WEIGHT_ONLY_TYPES).contains(w.weightType());
            case Capability.FloatGemm f -> true;
            case Capability.LowRankBranch l -> true;
            case Capability.DitOps d -> true;
        };
    }

    static Stream<DynamicNode> uncovered(Kit kit) {
        List<DynamicNode> out = new ArrayList<>();
        kit.backend.capabilities().stream().filter(c -> !covered(c)).sorted(Comparator.comparing(Capability::describe))
                .forEach(c -> out.add(dynamicContainer(NOT_COVERED + c.describe(), Stream.of(dynamicTest("not covered",
                        () -> Assumptions.abort(NOT_COVERED + c.describe() + " (declared by the backend)"))))));
        return out.stream();
    }

}
