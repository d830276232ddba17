package dev.nibble.model.metrics;

/**
 * Eigen-decomposition of a real symmetric matrix by the cyclic Jacobi method: rotations zero the
 * off-diagonal entries until their norm is negligible. O(n³) per sweep, a handful of sweeps; ample
 * for the 128×128 feature covariances of the Fréchet distance.
 */
public final class SymmetricEigen {
    private final double[] values;
    private final double[][] vectors;

    /**
     * @param m a symmetric n×n matrix (not modified)
     * @throws IllegalArgumentException if it is not square or not symmetric
     */
    public SymmetricEigen(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][];
        double scale = 0;
        for (int i = 0; i < n; i++) {
            if (m[i].length != n) {
                throw new IllegalArgumentException("matrix is not square");
            }
            a[i] = m[i].clone();
            for (int j = 0; j < n; j++) {
                scale = Math.max(scale, Math.abs(m[i][j]));
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                if (Math.abs(a[i][j] - a[j][i]) > 1e-9 * Math.max(1, scale)) {
                    throw new IllegalArgumentException("matrix is not symmetric at (" + i + ", " + j + ")");
                }
            }
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    off += a[i][j] * a[i][j];
                }
            }
            if (off <= 1e-30 * Math.max(1e-300, scale * scale) || off == 0) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p][q];
                    if (Math.abs(apq) < 1e-300) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k][p];
                        double vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = a[i][i];
        }
        vectors = v;
    }

    /** @return the eigenvalues (unsorted) */
    public double[] values() {
        return values.clone();
    }

    /** @return the eigenvectors as columns: {@code vectors[row][k]} belongs to {@code values[k]} */
    public double[][] vectors() {
        double[][] c = new double[vectors.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = vectors[i].clone();
        }
        return c;
    }

    /**
     * @param m a symmetric positive semi-definite matrix
     * @return its symmetric square root {@code V·sqrt(max(Λ, 0))·Vᵀ}
     */
    public static double[][] sqrt(double[][] m) {
        SymmetricEigen e = new SymmetricEigen(m);
        int n = m.length;
        double[][] r = new double[n][n];
        for (int k = 0; k < n; k++) {
            double s = Math.sqrt(Math.max(0, e.values[k]));
            for (int i = 0; i < n; i++) {
                double vi = e.vectors[i][k] * s;
                for (int j = 0; j < n; j++) {
                    r[i][j] += vi * e.vectors[j][k];
                }
            }
        }
        return r;
    }
}
