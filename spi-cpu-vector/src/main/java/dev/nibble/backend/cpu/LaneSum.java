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
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] ROTATIONS = new VectorShuffle[Integer.numberOfTrailingZeros(F.length())];

    static {
        int i = 0;
        for (int s = F.length() / 2; s >= 1; s /= 2) {
            ROTATIONS[i++] = VectorShuffle.iota(F, s, 1, true);
        }
    }

    private LaneSum() {
    }

    /** @return the lanes' sum: lane i is added to lane i + L/2, then i + L/4, ... (a fixed tree) */
    static float of(FloatVector v) {
        if (v.species() != F) {
            float s = 0f;
            for (float x : v.toArray()) {
                s += x;
            }
            return s;
        }
        FloatVector t = v;
        for (VectorShuffle<Float> r : ROTATIONS) {
            t = t.add(t.rearrange(r));
        }
        return t.lane(0);
    }
}
