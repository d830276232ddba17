package dev.nibble.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a float vector's lanes in one fixed order: a pairwise tree of lane rotations and adds,
 * the same bits interpreted or compiled. {@code reduceLanes(ADD)} leaves the order to the
 * implementation, and HotSpot's C2 intrinsic adds in another order than the Java fallback that
 * runs before compilation — so softmax, layer norm, attention and F32 GEMM changed in the last
 * bits depending on JIT timing, and two runs of the same program disagreed.
 */
final class LaneSum {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    // separate static finals, not an array: C2 treats them as constants and emits one permute each
    private static final VectorShuffle<Float> BY_HALF = VectorShuffle.iota(F, Math.max(1, L / 2), 1, true);
    private static final VectorShuffle<Float> BY_QUARTER = VectorShuffle.iota(F, Math.max(1, L / 4), 1, true);
    private static final VectorShuffle<Float> BY_EIGHTH = VectorShuffle.iota(F, Math.max(1, L / 8), 1, true);
    private static final VectorShuffle<Float> BY_SIXTEENTH = VectorShuffle.iota(F, Math.max(1, L / 16), 1, true);

    private LaneSum() {
    }

    /** @return the lanes' sum: lane i is added to lane i + L/2, then i + L/4, ... (a fixed tree) */
    static float of(FloatVector v) {
        if (L > 16) { // constant: folded away by the JIT
            return ofAnyShape(v);
        }
        FloatVector t = v.add(v.rearrange(BY_HALF));
        if (L >= 4) {
            t = t.add(t.rearrange(BY_QUARTER));
        }
        if (L >= 8) {
            t = t.add(t.rearrange(BY_EIGHTH));
        }
        if (L >= 16) {
            t = t.add(t.rearrange(BY_SIXTEENTH));
        }
        return t.lane(0);
    }

    /** The same tree for wider species (SVE up to 2048 bits). */
    private static float ofAnyShape(FloatVector v) {
        int n = v.length();
        FloatVector t = v;
        for (int s = n / 2; s >= 1; s /= 2) {
            t = t.add(t.rearrange(VectorShuffle.iota(v.species(), s, 1, true)));
        }
        return t.lane(0);
    }
}
