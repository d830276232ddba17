package dev.nibble.bench;

import java.util.SplittableRandom;

/**
 * A GEMM shape {@code M × K → N} and the deterministic random operands every implementation uses.
 *
 * @param m tokens (rows of X)
 * @param k input features
 * @param n output features (rows of W)
 */
public record GemmShape(int m, int k, int n) {
    /** @param kn {@code "KxN"}, e.g. {@code 1152x4608} */
    public static GemmShape parse(int m, String kn) {
        String[] p = kn.toLowerCase().split("x");
        if (p.length != 2) {
            throw new IllegalArgumentException("shape parameter must be KxN, got " + kn);
        }
        return new GemmShape(m, Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
    }

    /** @return multiply-adds × 2 */
    public double ops() {
        return 2.0 * m * (double) k * n;
    }

    /** @return X, row-major {@code [M, K]}, uniform in [-1, 1) */
    public float[] activations() {
        return uniform((long) m * k, 1);
    }

    /** @return W, row-major {@code [N, K]}, uniform in [-0.05, 0.05) */
    public float[] weights() {
        float[] w = uniform((long) n * k, 2);
        for (int i = 0; i < w.length; i++) {
            w[i] *= 0.05f;
        }
        return w;
    }

    private static float[] uniform(long count, long seed) {
        float[] v = new float[Math.toIntExact(count)];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }
}
