package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The NormalFloat-4 code book: 16 values in [-1, 1], quantiles of a standard normal with an exact
 * zero. Values as published with QLoRA (Dettmers et al., 2023, Appendix E) and used by
 * bitsandbytes.
 */
@API(status = STABLE, since = "0.1")
public final class Nf4 {
    private static final float[] VALUES = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    private Nf4() {
    }

    /**
     * @param code 0..15
     * @return the code's value in [-1, 1]
     */
    public static float value(int code) {
        return VALUES[code];
    }

    /** @return a copy of the 16 values, ascending */
    public static float[] values() {
        return VALUES.clone();
    }

    /**
     * The nearest code: smallest {@code |value - v|} in float32, ties to the lower index.
     *
     * @param v a normalized value (x / absmax)
     * @return the code 0..15
     */
    public static int nearest(float v) {
        int best = 0;
        float bestDist = Math.abs(VALUES[0] - v);
        for (int i = 1; i < 16; i++) {
            float d = Math.abs(VALUES[i] - v);
            if (d < bestDist) {
                bestDist = d;
                best = i;
            }
        }
        return best;
    }
}
