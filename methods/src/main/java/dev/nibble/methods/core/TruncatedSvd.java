package dev.nibble.methods.core;

import java.util.Random;

/**
 * A rank-r truncated SVD {@code A ≈ U·diag(σ)·Vᵀ}, written here (no library): randomized subspace
 * iteration (Halko, Martinsson, Tropp 2011) with re-orthonormalization after every product, then
 * the exact SVD of the small projected matrix {@code B = Qᵀ·A} from a cyclic Jacobi
 * eigen-decomposition of {@code B·Bᵀ}. All arithmetic in double. A matrix of rank ≤ r is
 * reproduced to rounding error.
 */
public final class TruncatedSvd {
    private static final int OVERSAMPLE = 8;

    /** U {@code [m, r]}, σ {@code [r]} (descending), V {@code [n, r]}, row-major. */
    public record Result(int m, int n, int rank, double[] u, double[] sigma, double[] v) {
    }

    private TruncatedSvd() {
    }

    /**
     * @param a row-major {@code [m, n]}
     * @param m rows
     * @param n columns
     * @param rank r (clamped to min(m, n))
     * @param powerIterations subspace iterations (4 is plenty for low-bit residuals)
     * @param seed random seed of the start block
     * @return the factors
     */
    public static Result compute(float[] a, int m, int n, int rank, int powerIterations, long seed) {
        int r = Math.min(rank, Math.min(m, n));
        int p = Math.min(r + OVERSAMPLE, Math.min(m, n));
        double[] ad = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            ad[i] = a[i];
        }
        Random rnd = new Random(seed);
        double[] omega = new double[n * p];
        for (int i = 0; i < omega.length; i++) {
            omega[i] = rnd.nextGaussian();
        }
        double[] q = mulAB(ad, m, n, omega, p); // [m, p]
        orthonormalize(q, m, p);
        for (int it = 0; it < powerIterations; it++) {
            double[] z = mulAtB(ad, m, n, q, p); // [n, p]
            orthonormalize(z, n, p);
            q = mulAB(ad, m, n, z, p);
            orthonormalize(q, m, p);
        }
        double[] bt = mulAtB(ad, m, n, q, p); // Bᵀ = Aᵀ·Q, [n, p]
        // Gram G = B·Bᵀ = btᵀ·bt, [p, p]
        double[] g = new double[p * p];
        for (int i = 0; i < p; i++) {
            for (int j = i; j < p; j++) {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    s += bt[t * p + i] * bt[t * p + j];
                }
                g[i * p + j] = s;
                g[j * p + i] = s;
            }
        }
        double[][] eig = JacobiEigen.decompose(g, p); // eig[0] = values (desc), eig[1] = vectors [p, p] columns
        double[] vals = eig[0];
        double[] vecs = eig[1];
        double[] sigma = new double[r];
        double[] u = new double[m * r];
        double[] v = new double[n * r];
        double top = Math.sqrt(Math.max(vals[0], 0));
        for (int c = 0; c < r; c++) {
            double s = Math.sqrt(Math.max(vals[c], 0));
            if (s <= top * 1e-13 || s == 0) {
                continue; // rank-deficient: leave this component at zero
            }
            sigma[c] = s;
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int j = 0; j < p; j++) {
                    acc += q[i * p + j] * vecs[j * p + c];
                }
                u[i * r + c] = acc;
            }
            for (int t = 0; t < n; t++) {
                double acc = 0;
                for (int j = 0; j < p; j++) {
                    acc += bt[t * p + j] * vecs[j * p + c];
                }
                v[t * r + c] = acc / s;
            }
        }
        return new Result(m, n, r, u, sigma, v);
    }

    private static double[] mulAB(double[] a, int m, int n, double[] b, int p) {
        double[] out = new double[m * p];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < n; k++) {
                double av = a[i * n + k];
                if (av == 0) {
                    continue;
                }
                for (int j = 0; j < p; j++) {
                    out[i * p + j] += av * b[k * p + j];
                }
            }
        }
        return out;
    }

    private static double[] mulAtB(double[] a, int m, int n, double[] b, int p) {
        double[] out = new double[n * p];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < n; k++) {
                double av = a[i * n + k];
                if (av == 0) {
                    continue;
                }
                for (int j = 0; j < p; j++) {
                    out[k * p + j] += av * b[i * p + j];
                }
            }
        }
        return out;
    }

    /** Modified Gram–Schmidt, twice, on the p columns of a row-major [rows, p] matrix; dependent columns become 0. */
    static void orthonormalize(double[] x, int rows, int p) {
        for (int pass = 0; pass < 2; pass++) {
            for (int c = 0; c < p; c++) {
                for (int prev = 0; prev < c; prev++) {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) {
                        dot += x[i * p + c] * x[i * p + prev];
                    }
                    for (int i = 0; i < rows; i++) {
                        x[i * p + c] -= dot * x[i * p + prev];
                    }
                }
                double norm = 0;
                for (int i = 0; i < rows; i++) {
                    norm += x[i * p + c] * x[i * p + c];
                }
                norm = Math.sqrt(norm);
                double inv = norm < 1e-300 ? 0 : 1 / norm;
                for (int i = 0; i < rows; i++) {
                    x[i * p + c] *= inv;
                }
            }
        }
    }
}
