package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Arrays;
import java.util.Objects;
import org.apiguardian.api.API;

/** How a layer quantizes its input activations at run time. */
@API(status = STABLE, since = "0.1")
public sealed interface ActivationQuant {

    /** Activations stay in floating point (weight-only quantization or a full-precision layer). */
    @API(status = STABLE, since = "0.1")
    record None() implements ActivationQuant {
    }

    /**
     * Scales computed from the data at every call (per tensor, per token or per token-group).
     *
     * @param scheme a dynamic scheme
     */
    @API(status = STABLE, since = "0.1")
    record Dynamic(QuantScheme scheme) implements ActivationQuant {
        /** @throws IllegalArgumentException if the scheme is static */
        public Dynamic {
            if (!Objects.requireNonNull(scheme, "scheme").dynamic()) {
                throw new IllegalArgumentException("dynamic activation quantization needs a dynamic scheme");
            }
        }
    }

    /**
     * Per-tensor scales calibrated ahead of time, one entry per sampling step (TFMQ's finite-set
     * calibration); a table of one entry serves every step.
     *
     * @param scheme a static per-tensor scheme
     * @param scales one scale per step
     * @param zeroPoints one zero point per step (all 0 for symmetric schemes)
     */
    @API(status = STABLE, since = "0.1")
    record StaticTable(QuantScheme scheme, float[] scales, int[] zeroPoints) implements ActivationQuant {
        /** @throws IllegalArgumentException if the table is empty or inconsistent */
        public StaticTable {
            Objects.requireNonNull(scheme, "scheme");
            if (scheme.dynamic() || scheme.granularity() != Granularity.PER_TENSOR) {
                throw new IllegalArgumentException("a static table needs a static per-tensor scheme, got " + scheme.describe());
            }
            if (scales.length == 0 || scales.length != zeroPoints.length) {
                throw new IllegalArgumentException("a static table needs one scale and zero point per step");
            }
            scales = scales.clone();
            zeroPoints = zeroPoints.clone();
        }

        /** @return the number of steps in the table */
        public int steps() {
            return scales.length;
        }

        /**
         * @param step the sampling step index
         * @return the scale for that step
         * @throws IndexOutOfBoundsException if the table has several entries and none for the step
         */
        public float scale(int step) {
            return scales.length == 1 ? scales[0] : scales[step];
        }

        /**
         * @param step the sampling step index
         * @return the zero point for that step
         */
        public int zeroPoint(int step) {
            return zeroPoints.length == 1 ? zeroPoints[0] : zeroPoints[step];
        }

        @Override
        public float[] scales() {
            return scales.clone();
        }

        @Override
        public int[] zeroPoints() {
            return zeroPoints.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof StaticTable t && scheme.equals(t.scheme)
                    && Arrays.equals(scales, t.scales) && Arrays.equals(zeroPoints, t.zeroPoints);
        }

        @Override
        public int hashCode() {
            return scheme.hashCode() * 31 + Arrays.hashCode(scales);
        }

        @Override
        public String toString() {
            return "StaticTable[" + scheme.describe() + ", " + scales.length + " steps]";
        }
    }
}
