package dev.nibble.model.metrics;

/**
 * The Fréchet distance between Gaussians fitted to two feature sets (FID's formula):
 * {@code |μ1 − μ2|² + tr(Σ1 + Σ2 − 2·(Σ1^½ Σ2 Σ1^½)^½)}. The trace term uses the symmetric form,
 * whose square root a symmetric eigen-decomposition gives exactly.
 */
public final class FrechetDistance {
    private FrechetDistance() {
    }

    /**
     * @param a features, one row per sample (at least 2)
     * @param b features of the same width
     * @return the distance (≥ 0 up to rounding)
     */
    public static double between(double[][] a, double[][] b) {
        if (a.length < 2 || b.length < 2 || a[0].length != b[0].length) {
            throw new IllegalArgumentException("need at least 2 samples per set with equal feature widths");
        }
        double[] ma = mean(a);
        double[] mb = mean(b);
        double[][] sa = covariance(a, ma);
        double[][] sb = covariance(b, mb);
        return of(ma, sa, mb, sb);
    }

    /**
     * @param ma mean of the first set
     * @param sa covariance of the first set
     * @param mb mean of the second set
     * @param sb covariance of the second set
     * @return the distance
     */
    public static double of(double[] ma, double[][] sa, double[] mb, double[][] sb) {
        int n = ma.length;
        double d = 0;
        for (int i = 0; i < n; i++) {
            d += (ma[i] - mb[i]) * (ma[i] - mb[i]);
        }
        double[][] r = SymmetricEigen.sqrt(sa);
        double[][] m = multiply(multiply(r, sb), r);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                double s = (m[i][j] + m[j][i]) / 2; // remove rounding asymmetry
                m[i][j] = s;
                m[j][i] = s;
            }
        }
        double trSqrt = 0;
        for (double v : new SymmetricEigen(m).values()) {
            trSqrt += Math.sqrt(Math.max(0, v));
        }
        double tr = 0;
        for (int i = 0; i < n; i++) {
            tr += sa[i][i] + sb[i][i];
        }
        return d + tr - 2 * trSqrt;
    }

    static double[] mean(double[][] x) {
        double[] m = new double[x[0].length];
        for (double[] row : x) {
            for (int j = 0; j < m.length; j++) {
                m[j] += row[j];
            }
        }
        for (int j = 0; j < m.length; j++) {
            m[j] /= x.length;
        }
        return m;
    }

    static double[][] covariance(double[][] x, double[] m) {
        int n = m.length;
        double[][] c = new double[n][n];
        for (double[] row : x) {
            for (int i = 0; i < n; i++) {
                double di = row[i] - m[i];
                for (int j = 0; j <= i; j++) {
                    c[i][j] += di * (row[j] - m[j]);
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                c[i][j] /= x.length - 1;
                c[j][i] = c[i][j];
            }
        }
        return c;
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        int k = b.length;
        int m = b[0].length;
        double[][] r = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int q = 0; q < k; q++) {
                double v = a[i][q];
                if (v == 0) {
                    continue;
                }
                for (int j = 0; j < m; j++) {
                    r[i][j] += v * b[q][j];
                }
            }
        }
        return r;
    }
}
