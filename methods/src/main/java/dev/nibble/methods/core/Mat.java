package dev.nibble.methods.core;

/** Small dense helpers on row-major float arrays (host-side offline math only). */
public final class Mat {
    private Mat() {
    }

    /**
     * @param x {@code [rows, k]}
     * @param rows rows of x
     * @param k shared width
     * @param w {@code [n, k]}
     * @param n rows of w
     * @return {@code x·wᵀ}, {@code [rows, n]}
     */
    public static float[] matmulNT(float[] x, int rows, int k, float[] w, int n) {
        float[] y = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            int xo = r * k;
            for (int o = 0; o < n; o++) {
                int wo = o * k;
                float s0 = 0f;
                float s1 = 0f;
                float s2 = 0f;
                float s3 = 0f;
                int i = 0;
                for (; i + 3 < k; i += 4) {
                    s0 += x[xo + i] * w[wo + i];
                    s1 += x[xo + i + 1] * w[wo + i + 1];
                    s2 += x[xo + i + 2] * w[wo + i + 2];
                    s3 += x[xo + i + 3] * w[wo + i + 3];
                }
                for (; i < k; i++) {
                    s0 += x[xo + i] * w[wo + i];
                }
                y[r * n + o] = (s0 + s1) + (s2 + s3);
            }
        }
        return y;
    }

    /**
     * @param x {@code [rows, k]}
     * @param rows rows of x
     * @param k width of x
     * @param b {@code [k, n]}
     * @param n columns of b
     * @return {@code x·b}, {@code [rows, n]}
     */
    public static float[] matmul(float[] x, int rows, int k, float[] b, int n) {
        float[] y = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < k; i++) {
                float xv = x[r * k + i];
                if (xv == 0f) {
                    continue;
                }
                int bo = i * n;
                int yo = r * n;
                for (int c = 0; c < n; c++) {
                    y[yo + c] += xv * b[bo + c];
                }
            }
        }
        return y;
    }

    /** @return the sum of squares, in double */
    public static double energy(float[] a) {
        double s = 0;
        for (float v : a) {
            s += (double) v * v;
        }
        return s;
    }

    /** @return the squared Euclidean distance, in double */
    public static double sqDist(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            s += d * d;
        }
        return s;
    }

    /**
     * @param ref the reference
     * @param test the approximation
     * @return {@code ||ref - test||² / ||ref||²} (0 for an exact match, +inf for a zero reference with error)
     */
    public static double nmse(float[] ref, float[] test) {
        double e = sqDist(ref, test);
        double s = energy(ref);
        return e == 0 ? 0 : (s == 0 ? Double.POSITIVE_INFINITY : e / s);
    }

    /**
     * @param ref the reference
     * @param test the approximation
     * @return signal-to-quantization-noise ratio in dB ({@code 10·log10(||ref||² / ||ref - test||²)})
     */
    public static double sqnrDb(float[] ref, float[] test) {
        return -10 * Math.log10(nmse(ref, test));
    }

    /** @return the largest absolute value */
    public static float absMax(float[] a) {
        float m = 0f;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * @param x {@code [rows, k]}
     * @param k width
     * @param from first row
     * @param to end row
     * @return a copy of rows {@code [from, to)}
     */
    public static float[] rows(float[] x, int k, int from, int to) {
        float[] out = new float[(to - from) * k];
        System.arraycopy(x, from * k, out, 0, out.length);
        return out;
    }
}
