package dev.nibble.conformance;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import java.util.SplittableRandom;

/**
 * Seeded random data shaped like DiT activations and weights: Gaussian bulk, a few outlier
 * channels, per-row offsets, a few massive values; never all zeros. Each test draws from its own
 * generator (seeded by the kit's seed and the test's name), so a failure reproduces alone.
 */
final class TestData {
    private final SplittableRandom rnd;

    TestData(long seed) {
        this.rnd = new SplittableRandom(seed);
    }

    static long seedFor(long base, String name) {
        return base * 0x9E3779B97F4A7C15L ^ name.hashCode();
    }

    SplittableRandom random() {
        return rnd;
    }

    double gaussian() {
        return rnd.nextGaussian();
    }

    int nextInt(int bound) {
        return rnd.nextInt(bound);
    }

    /** Activations: N(0,1), ~3% outlier channels ×(8..40), row offsets, ~1 massive value per 5000. */
    float[] activations(int rows, int k) {
        float[] x = new float[rows * k];
        double[] channel = new double[k];
        for (int c = 0; c < k; c++) {
            channel[c] = rnd.nextDouble() < 0.03 ? 8 + 32 * rnd.nextDouble() : 1;
        }
        for (int r = 0; r < rows; r++) {
            double offset = rnd.nextDouble() < 0.3 ? 4 * rnd.nextGaussian() : 0;
            double rowScale = Math.exp(rnd.nextGaussian());
            for (int c = 0; c < k; c++) {
                double v = rnd.nextGaussian() * channel[c] * rowScale + offset;
                if (rnd.nextInt(5000) == 0) {
                    v *= 300 + 700 * rnd.nextDouble();
                }
                x[r * k + c] = (float) v;
            }
        }
        ensureNonZero(x);
        return x;
    }

    /** Weights: N(0, 0.05²) with ~1% outliers ×10. */
    float[] weights(int n, int k) {
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            double v = 0.05 * rnd.nextGaussian();
            if (rnd.nextInt(100) == 0) {
                v *= 10;
            }
            w[i] = (float) v;
        }
        ensureNonZero(w);
        return w;
    }

    /** Uniform values in [lo, hi). */
    float[] uniform(int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        ensureNonZero(v);
        return v;
    }

    /** Positive smoothing divisors, spread over two decades. */
    float[] positive(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.exp(2.3 * (rnd.nextDouble() * 2 - 1));
        }
        return v;
    }

    private void ensureNonZero(float[] x) {
        if (x.length > 0) {
            x[rnd.nextInt(x.length)] = 1.5f + (float) rnd.nextDouble();
        }
    }

    /**
     * Rewrites some scale units (every tensor / every third row / every third group) so that the
     * scale is a power of two and about half of the values lie exactly half-way between two codes:
     * the only inputs on which half-to-even and half-away-from-zero rounding differ.
     */
    void plantTies(float[] x, int rows, int k, QuantScheme s) {
        if (s.format() != QuantScheme.Format.INT || s.clipRatio() != 1f) {
            return;
        }
        switch (s.granularity()) {
            case PER_TENSOR -> tieUnit(x, indices(0, rows * k, 1), s);
            case PER_CHANNEL, PER_TOKEN -> {
                for (int r = 0; r < rows; r += 3) {
                    tieUnit(x, indices(r * k, k, 1), s);
                }
            }
            case PER_GROUP -> {
                int g = s.groupSize();
                int groups = (k + g - 1) / g;
                for (int u = 0; u < rows * groups; u += 3) {
                    int r = u / groups;
                    int from = (u % groups) * g;
                    tieUnit(x, indices(r * k + from, Math.min(g, k - from), 1), s);
                }
            }
        }
    }

    private static int[] indices(int from, int len, int stride) {
        int[] a = new int[len];
        for (int i = 0; i < len; i++) {
            a[i] = from + i * stride;
        }
        return a;
    }

    private void tieUnit(float[] x, int[] idx, QuantScheme s) {
        if (idx.length < 2) {
            return;
        }
        double absmax = 0;
        for (int i : idx) {
            absmax = Math.max(absmax, Math.abs(x[i]));
        }
        int e = Math.getExponent((float) Math.max(absmax, 1e-3) / s.qmax());
        double step = Math.scalb(1.0, e);
        if (s.symmetric()) {
            int q = s.qmax();
            for (int i : idx) {
                x[i] = (float) ((rnd.nextInt(4 * q + 1) - 2 * q) * step / 2);
            }
            x[idx[rnd.nextInt(idx.length)]] = (float) (q * step * (rnd.nextBoolean() ? 1 : -1));
        } else {
            // range [lo, hi] with hi - lo = (qmax - qmin)·step and lo < 0 < hi
            int span = s.qmax() - s.qmin();
            int loSteps = -(1 + rnd.nextInt(span - 1));
            int hiSteps = span + loSteps;
            for (int i : idx) {
                x[i] = (float) ((2 * loSteps + rnd.nextInt(2 * span + 1)) * step / 2);
            }
            int a = rnd.nextInt(idx.length);
            int b = (a + 1 + rnd.nextInt(idx.length - 1)) % idx.length;
            x[idx[a]] = (float) (loSteps * step);
            x[idx[b]] = (float) (hiSteps * step);
        }
    }

    static boolean isGrouped(QuantScheme s) {
        return s.granularity() == Granularity.PER_GROUP;
    }
}
