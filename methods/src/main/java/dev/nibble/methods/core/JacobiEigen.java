package dev.nibble.methods.core;

/** Cyclic Jacobi eigen-decomposition of a small symmetric matrix, in double. */
public final class JacobiEigen {
    private JacobiEigen() {
    }

    /**
     * @param a row-major symmetric {@code [p, p]} (not modified)
     * @param p order
     * @return {@code {values (descending), vectors}} with eigenvector c in column c of the row-major {@code [p, p]} array
     */
    public static double[][] decompose(double[] a, int p) {
        double[] m = a.clone();
        double[] v = new double[p * p];
        for (int i = 0; i < p; i++) {
            v[i * p + i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double diag = 0;
            for (int i = 0; i < p; i++) {
                diag += m[i * p + i] * m[i * p + i];
                for (int j = i + 1; j < p; j++) {
                    off += m[i * p + j] * m[i * p + j];
                }
            }
            if (off <= 1e-30 * Math.max(diag, 1e-300)) {
                break;
            }
            for (int i = 0; i < p; i++) {
                for (int j = i + 1; j < p; j++) {
                    double aij = m[i * p + j];
                    if (aij == 0) {
                        continue;
                    }
                    double theta = (m[j * p + j] - m[i * p + i]) / (2 * aij);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < p; k++) {
                        double mki = m[k * p + i];
                        double mkj = m[k * p + j];
                        m[k * p + i] = c * mki - s * mkj;
                        m[k * p + j] = s * mki + c * mkj;
                    }
                    for (int k = 0; k < p; k++) {
                        double mik = m[i * p + k];
                        double mjk = m[j * p + k];
                        m[i * p + k] = c * mik - s * mjk;
                        m[j * p + k] = s * mik + c * mjk;
                    }
                    for (int k = 0; k < p; k++) {
                        double vki = v[k * p + i];
                        double vkj = v[k * p + j];
                        v[k * p + i] = c * vki - s * vkj;
                        v[k * p + j] = s * vki + c * vkj;
                    }
                }
            }
        }
        Integer[] order = new Integer[p];
        for (int i = 0; i < p; i++) {
            order[i] = i;
        }
        final double[] mm = m;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(mm[y * p + y], mm[x * p + x]));
        double[] vals = new double[p];
        double[] vecs = new double[p * p];
        for (int c = 0; c < p; c++) {
            int src = order[c];
            vals[c] = m[src * p + src];
            for (int k = 0; k < p; k++) {
                vecs[k * p + c] = v[k * p + src];
            }
        }
        return new double[][] {vals, vecs};
    }
}
