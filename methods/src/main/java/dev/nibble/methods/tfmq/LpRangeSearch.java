package dev.nibble.methods.tfmq;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.numerics.Quantizer;
import dev.nibble.methods.core.FakeQuant;

/**
 * Lp-optimal range search (as in BRECQ / Q-Diffusion, which TFMQ-DM builds on): shrink the observed
 * range by a clip ratio c from a grid over [0.2, 1] and keep the c that minimizes
 * {@code Σ |x − Q_c(x)|^p}. Scales and zero points follow the canonical formulas of
 * {@link Quantizer#computeParams} for the scheme with that clip ratio.
 */
public final class LpRangeSearch {
    private static final int MAX_SAMPLES = 1 << 16;

    private LpRangeSearch() {
    }

    /**
     * @param grid number of candidates
     * @param i candidate index
     * @return the clip ratio of candidate i: 1, …, 0.2
     */
    static float ratio(int grid, int i) {
        return grid == 1 ? 1f : (float) (1.0 - 0.8 * i / (grid - 1));
    }

    /**
     * @param v values
     * @param p the norm's exponent
     * @param q quantized values
     * @return {@code Σ |v − q|^p}
     */
    static double lpError(float[] v, float[] q, double p) {
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            double d = Math.abs((double) v[i] - q[i]);
            s += p == 2 ? d * d : Math.pow(d, p);
        }
        return s;
    }

    /**
     * The best clip ratio of a scheme whose scales are computed from the data (weights).
     *
     * @param w {@code [rows, k]}
     * @param rows rows
     * @param k width
     * @param scheme the scheme (its clip ratio is replaced)
     * @param p the norm's exponent
     * @param grid number of candidates
     * @return the best clip ratio
     */
    public static float bestClip(float[] w, int rows, int k, QuantScheme scheme, double p, int grid) {
        if (rows > 256) { // evenly spaced rows keep the search cheap on wide layers
            float[] sub = new float[256 * k];
            for (int i = 0; i < 256; i++) {
                System.arraycopy(w, (int) ((long) i * rows / 256) * k, sub, i * k, k);
            }
            w = sub;
            rows = 256;
        }
        float best = 1f;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int i = 0; i < grid; i++) {
            float c = ratio(grid, i);
            double e = lpError(w, FakeQuant.apply(w, rows, k, scheme.withClipRatio(c)), p);
            if (e < bestErr) {
                bestErr = e;
                best = c;
            }
        }
        return best;
    }

    /**
     * Static per-tensor parameters for one set of samples.
     *
     * @param x samples
     * @param scheme a per-tensor scheme
     * @param p the norm's exponent
     * @param grid number of candidates
     * @return {@code {scale, zeroPoint}} of the best clip ratio
     */
    public static float[] staticParams(float[] x, QuantScheme scheme, double p, int grid) {
        float[] sample = x;
        if (x.length > MAX_SAMPLES) {
            sample = new float[MAX_SAMPLES];
            for (int i = 0; i < MAX_SAMPLES; i++) {
                sample[i] = x[(int) ((long) i * x.length / MAX_SAMPLES)];
            }
        }
        float[] sc = new float[1];
        int[] ze = new int[1];
        float[] best = null;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int i = 0; i < grid; i++) {
            // the range comes from all values, the error from the sample
            Quantizer.computeParams(x, 0, x.length, scheme.withClipRatio(ratio(grid, i)), sc, ze, 0);
            double e = lpError(sample, FakeQuant.applyStatic(sample, scheme, sc[0], ze[0]), p);
            if (e < bestErr) {
                bestErr = e;
                best = new float[] {sc[0], ze[0]};
            }
        }
        return best;
    }
}
