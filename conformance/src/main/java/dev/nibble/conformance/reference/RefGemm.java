package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.Granularity;
import org.apiguardian.api.API;

/**
 * Reference GEMMs, {@code y = x·wᵀ} with {@code w [N, K]}: integer accumulators exact in long (and
 * checked to fit int32), everything else in float64 with error scales
 * {@code (sqrt(L) + 2)·Σ|terms|} for a reduction of length L.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class RefGemm {
    private RefGemm() {
    }

    /**
     * The exact integer accumulators {@code Σ_k (a - za)(w - zw)}.
     *
     * @param a activation codes {@code [M, K]}
     * @param w weight codes {@code [N, K]}
     * @return {@code [M, N]} or, when both are per group, {@code [G, M, N]}
     * @throws ArithmeticException if an accumulator does not fit int32
     */
    public static long[] accumulate(RefQuantized a, RefQuantized w) {
        int m = a.rows();
        int n = w.rows();
        int k = a.k();
        if (w.k() != k) {
            throw new IllegalArgumentException("K differs: " + k + " vs " + w.k());
        }
        boolean grouped = isGrouped(a, w);
        int g = grouped ? a.scheme().groupSize() : k;
        int groups = grouped ? a.groups() : 1;
        long[] acc = new long[groups * m * n];
        for (int gi = 0; gi < groups; gi++) {
            int from = gi * g;
            int to = Math.min(k, from + g);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    long s = 0;
                    for (int c = from; c < to; c++) {
                        long av = a.codes()[i * k + c] - (long) a.zeros()[a.paramIndex(i, c)];
                        long wv = w.codes()[j * k + c] - (long) w.zeros()[w.paramIndex(j, c)];
                        s += av * wv;
                    }
                    acc[(gi * m + i) * n + j] = Math.toIntExact(s);
                }
            }
        }
        return acc;
    }

    /**
     * @param a activation codes
     * @param w weight codes
     * @return true when the accumulators are per group
     */
    public static boolean isGrouped(RefQuantized a, RefQuantized w) {
        boolean ga = a.scheme().granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        if (ga && gw && a.scheme().groupSize() != w.scheme().groupSize()) {
            throw new IllegalArgumentException("group sizes differ");
        }
        if (ga != gw) {
            throw new IllegalArgumentException("the reference only defines per-group accumulators when both operands are per group");
        }
        return ga;
    }

    /**
     * Quantized GEMM with dequantization: {@code y = Σ_g acc_g · sa · sw}.
     *
     * @param a activation codes {@code [M, K]}
     * @param w weight codes {@code [N, K]}
     * @return {@code [M, N]}, error scales {@code (sqrt(G)+3)·Σ_g |acc_g·sa·sw|}
     */
    public static RefTensor quantized(RefQuantized a, RefQuantized w) {
        long[] acc = accumulate(a, w);
        int m = a.rows();
        int n = w.rows();
        boolean grouped = isGrouped(a, w);
        int groups = grouped ? a.groups() : 1;
        int g = grouped ? a.scheme().groupSize() : a.k();
        double[] y = new double[m * n];
        double[] e = new double[m * n];
        for (int gi = 0; gi < groups; gi++) {
            for (int i = 0; i < m; i++) {
                double sa = a.scales()[a.paramIndex(i, gi * g)];
                for (int j = 0; j < n; j++) {
                    double t = acc[(gi * m + i) * n + j] * sa * w.scales()[w.paramIndex(j, gi * g)];
                    y[i * n + j] += t;
                    e[i * n + j] += Math.abs(t);
                }
            }
        }
        scale(e, Math.sqrt(groups) + 3);
        return RefTensor.of(new long[] {m, n}, y, e);
    }

    /**
     * Weight-only GEMM: {@code y = x · dequant(w)ᵀ}.
     *
     * @param x {@code [M, K]}
     * @param m rows of x
     * @param w weight codes {@code [N, K]}
     * @return {@code [M, N]}
     */
    public static RefTensor weightOnly(float[] x, int m, RefQuantized w) {
        int k = w.k();
        int n = w.rows();
        double[] wd = new double[n * k];
        for (int i = 0; i < wd.length; i++) {
            wd[i] = w.dequantized(i);
        }
        return dense(toDouble(x), null, m, k, wd, n);
    }

    /**
     * Float GEMM {@code y = x · wᵀ}.
     *
     * @param x {@code [M, K]}
     * @param m rows
     * @param k width
     * @param w {@code [N, K]} (values already widened to float)
     * @param n rows of w
     * @return {@code [M, N]}
     */
    public static RefTensor gemm(float[] x, int m, int k, float[] w, int n) {
        return dense(toDouble(x), null, m, k, toDouble(w), n);
    }

    /**
     * {@code y = x · wᵀ} over float64 inputs that carry their own error scales.
     *
     * @param x {@code [M, K]}
     * @param xErr error scales of x, or null if x is exact
     * @param m rows
     * @param k width
     * @param w {@code [N, K]}, exact
     * @param n rows of w
     * @return {@code [M, N]}, error scales {@code Σ_k xErr·|w| + (sqrt(K)+3)·Σ_k |x·w|}
     */
    public static RefTensor dense(double[] x, double[] xErr, int m, int k, double[] w, int n) {
        double[] y = new double[m * n];
        double[] e = new double[m * n];
        double f = Math.sqrt(k) + 3;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double a = 0;
                double ae = 0;
                for (int c = 0; c < k; c++) {
                    double t = x[i * k + c] * w[j * k + c];
                    s += t;
                    a += Math.abs(t);
                    if (xErr != null) {
                        ae += xErr[i * k + c] * Math.abs(w[j * k + c]);
                    }
                }
                y[i * n + j] = s;
                e[i * n + j] = f * a + ae;
            }
        }
        return RefTensor.of(new long[] {m, n}, y, e);
    }

    /**
     * The low-rank branch {@code (x·down)·upᵀ}.
     *
     * @param x {@code [M, K]}
     * @param xErr error scales of x, or null
     * @param m rows
     * @param k width
     * @param down {@code [K, r]}
     * @param up {@code [N, r]}
     * @param n outputs
     * @param r rank
     * @return {@code [M, N]}
     */
    public static RefTensor lowRank(double[] x, double[] xErr, int m, int k, float[] down, float[] up, int n, int r) {
        double[] downT = new double[r * k];
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < r; j++) {
                downT[j * k + c] = down[c * r + j];
            }
        }
        RefTensor t = dense(x, xErr, m, k, downT, r);
        return dense(t.value(), t.errorScale(), m, r, toDouble(up), n);
    }

    /**
     * {@code a + b}, b of the same length or one row broadcast.
     *
     * @param a values with error scales
     * @param b float values (exact)
     * @return the sum, error scales {@code aErr + 2(|a|+|b|)}
     */
    public static RefTensor add(RefTensor a, float[] b) {
        double[] y = new double[a.size()];
        double[] e = new double[a.size()];
        for (int i = 0; i < y.length; i++) {
            double bv = b[i % b.length];
            y[i] = a.value()[i] + bv;
            e[i] = a.errorScale()[i] + 2 * (Math.abs(a.value()[i]) + Math.abs(bv));
        }
        return new RefTensor(a.shape(), y, e, a.slack());
    }

    /**
     * @param x float values
     * @return the same values as doubles
     */
    public static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    static void scale(double[] e, double f) {
        for (int i = 0; i < e.length; i++) {
            e[i] *= f;
        }
    }
}
