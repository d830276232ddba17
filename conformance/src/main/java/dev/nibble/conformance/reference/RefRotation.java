package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.HadamardMatrices;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apiguardian.api.API;

/**
 * Rotations as dense float64 matrix products, built from the definitions (never from a fast
 * transform): the regular Hadamard as a Kronecker power of the 4×4 regular matrix, Sylvester as a
 * Kronecker power of [[1,1],[1,-1]], QuaRot's global transform as {@code H_hadK ⊗ H_2^m}, each
 * divided by the square root of its order. Only the ±1 hadK matrix comes from
 * {@link HadamardMatrices}; the decomposition of K is done here, by the rule of the
 * {@link Rotation.SylvesterHadamard} javadoc (the first special order, ascending, whose cofactor
 * is a power of two).
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class RefRotation {
    private static final double[][] REGULAR4 = {{1, 1, 1, -1}, {1, 1, -1, 1}, {1, -1, 1, 1}, {-1, 1, 1, 1}};
    private static final double[][] SYLVESTER2 = {{1, 1}, {1, -1}};
    private static final Map<String, double[][]> CACHE = new ConcurrentHashMap<>();

    private RefRotation() {
    }

    /**
     * @param n a power of 4
     * @return the orthonormal regular Hadamard matrix of order n
     */
    public static double[][] regular(int n) {
        return CACHE.computeIfAbsent("regular" + n, key -> normalized(power(REGULAR4, n)));
    }

    /**
     * @param n a power of 2
     * @return the orthonormal Sylvester matrix of order n
     */
    public static double[][] sylvester(int n) {
        return CACHE.computeIfAbsent("sylvester" + n, key -> normalized(power(SYLVESTER2, n)));
    }

    /**
     * @param k the row width
     * @return the orthonormal global QuaRot matrix {@code (H_hadK ⊗ H_2^m) / sqrt(K)}
     */
    public static double[][] global(int k) {
        return CACHE.computeIfAbsent("global" + k, key -> {
            int hadK = hadK(k);
            int[][] h = HadamardMatrices.matrix(hadK);
            double[][] hk = new double[hadK][hadK];
            for (int i = 0; i < hadK; i++) {
                for (int j = 0; j < hadK; j++) {
                    hk[i][j] = h[i][j];
                }
            }
            return normalized(kron(hk, power(SYLVESTER2, k / hadK)));
        });
    }

    /**
     * @param k a row width
     * @return hadK such that {@code K = hadK × 2^m}
     * @throws IllegalArgumentException if K has no such form
     */
    public static int hadK(int k) {
        if (Integer.bitCount(k) == 1) {
            return 1;
        }
        for (int h : HadamardMatrices.SPECIAL_ORDERS) {
            if (k % h == 0 && Integer.bitCount(k / h) == 1) {
                return h;
            }
        }
        throw new IllegalArgumentException("no global Hadamard of order " + k);
    }

    /**
     * Applies {@code y = x·R} to each row, zero-padding grouped rotations.
     *
     * @param x row-major {@code rows × k}, float32 inputs (exact in float64)
     * @param rows rows
     * @param k row width
     * @param rotation the rotation
     * @return values {@code rows × K'} with error scales {@code (sqrt(n)+2)·Σ|x_i·R_ij|} (n: block order)
     */
    public static RefTensor apply(float[] x, int rows, int k, Rotation rotation) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xd[i] = x[i];
        }
        return apply(xd, null, rows, k, rotation);
    }

    /**
     * As {@link #apply(float[], int, int, Rotation)}, carrying the inputs' own error scales.
     *
     * @param x row-major values
     * @param xErr error scales of the inputs, or null for exact inputs
     * @param rows rows
     * @param k row width
     * @param rotation the rotation
     * @return the rotated rows
     */
    public static RefTensor apply(double[] x, double[] xErr, int rows, int k, Rotation rotation) {
        int kp = rotation.outputDim(k);
        double[][] m;
        int block;
        switch (rotation) {
            case Rotation.Identity id -> {
                return new RefTensor(new long[] {rows, k}, x.clone(), xErr == null ? abs(x) : xErr.clone(), null);
            }
            case Rotation.RegularHadamard r -> {
                block = r.blockSize();
                m = regular(block);
            }
            case Rotation.SylvesterHadamard s when s.blockSize() != 0 -> {
                block = s.blockSize();
                m = sylvester(block);
            }
            case Rotation.SylvesterHadamard s -> {
                block = k;
                m = global(k);
            }
            case Rotation.Dense d -> {
                block = k;
                float[] q = d.matrix().toFloatArray();
                m = new double[k][k];
                for (int i = 0; i < k; i++) {
                    for (int j = 0; j < k; j++) {
                        m[i][j] = q[i * k + j];
                    }
                }
            }
        }
        double[] y = new double[rows * kp];
        double[] e = new double[rows * kp];
        double lengthFactor = Math.sqrt(block) + 2;
        double[] in = new double[block];
        double[] inErr = new double[block];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < kp; b += block) {
                for (int i = 0; i < block; i++) {
                    int c = b + i;
                    in[i] = c < k ? x[r * k + c] : 0;
                    inErr[i] = c < k ? (xErr == null ? 0 : xErr[r * k + c]) : 0;
                }
                for (int j = 0; j < block; j++) {
                    double s = 0;
                    double a = 0;
                    double ae = 0;
                    for (int i = 0; i < block; i++) {
                        double t = in[i] * m[i][j];
                        s += t;
                        a += Math.abs(t);
                        ae += inErr[i] * Math.abs(m[i][j]);
                    }
                    y[r * kp + b + j] = s;
                    e[r * kp + b + j] = lengthFactor * a + ae;
                }
            }
        }
        return new RefTensor(new long[] {rows, kp}, y, e, null);
    }

    private static double[] abs(double[] x) {
        double[] a = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            a[i] = Math.abs(x[i]);
        }
        return a;
    }

    private static double[][] power(double[][] base, int n) {
        double[][] m = {{1}};
        while (m.length < n) {
            m = kron(m, base);
        }
        if (m.length != n) {
            throw new IllegalArgumentException("order " + n + " is not a power of " + base.length);
        }
        return m;
    }

    /**
     * @param a left factor
     * @param b right factor
     * @return the Kronecker product {@code a ⊗ b}
     */
    public static double[][] kron(double[][] a, double[][] b) {
        int n = a.length * b.length;
        double[][] m = new double[n][n];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                for (int p = 0; p < b.length; p++) {
                    for (int q = 0; q < b.length; q++) {
                        m[i * b.length + p][j * b.length + q] = a[i][j] * b[p][q];
                    }
                }
            }
        }
        return m;
    }

    private static double[][] normalized(double[][] m) {
        double f = 1 / Math.sqrt(m.length);
        for (double[] row : m) {
            for (int j = 0; j < row.length; j++) {
                row[j] *= f;
            }
        }
        return m;
    }
}
