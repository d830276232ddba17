package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import org.apiguardian.api.API;

/**
 * The canonical scalar implementation of every {@link Rotation} on host rows, in the evaluation
 * order docs/kernels.md fixes (backends that follow it agree bit for bit):
 * <ul>
 *   <li>regular Hadamard, block {@code 4^k}: stages with strides 1, 4, 16, …; each stage maps
 *       {@code (a, b, c, d)} at offsets {@code 0, s, 2s, 3s} to
 *       {@code ((a+b)+(c-d), (a+b)-(c-d), (a-b)+(c+d), (c+d)-(a-b))}; then × {@code 2^-k} (exact);</li>
 *   <li>Sylvester, block {@code 2^m}: stages with strides 1, 2, 4, …; {@code (a, b) → (a+b, a-b)};
 *       then × {@code (float) (1 / sqrt(n))};</li>
 *   <li>global Sylvester with {@code K = hadK × 2^m}: the power-of-two transform on each of the
 *       hadK contiguous blocks of {@code 2^m}, then for each offset j in a block the hadK values at
 *       stride {@code 2^m} are multiplied by the hadK matrix ({@code y[c] = Σ_r x[r]·H[r][c]}, r
 *       ascending), then × {@code (float) (1 / sqrt(K))} — i.e. {@code x·(H_hadK ⊗ H_2^m)/sqrt(K)};</li>
 *   <li>dense: {@code y[c] = Σ_r x[r]·Q[r][c]}, r ascending, in float32.</li>
 * </ul>
 */
@API(status = STABLE, since = "0.1")
public final class Hadamard {
    private Hadamard() {
    }

    /**
     * @param x F32 rows {@code [..., K]}
     * @param rotation the rotation
     * @return F32 {@code [rows, K']} with K' = {@code rotation.outputDim(K)}
     */
    public static Tensor rotate(Tensor x, Rotation rotation) {
        int rows = Math.toIntExact(x.shape().rows());
        int k = Math.toIntExact(x.shape().cols());
        float[] out = rotateRows(x.toFloatArray(), rows, k, rotation);
        return Tensor.ofFloats(out, rows, rotation.outputDim(k));
    }

    /**
     * @param x row-major {@code rows × k}
     * @param rows number of rows
     * @param k row width
     * @param rotation the rotation
     * @return row-major {@code rows × rotation.outputDim(k)}
     */
    public static float[] rotateRows(float[] x, int rows, int k, Rotation rotation) {
        int kp = rotation.outputDim(k);
        float[] out = new float[rows * kp];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, r * k, out, r * kp, k);
        }
        switch (rotation) {
            case Rotation.Identity id -> { }
            case Rotation.RegularHadamard rh -> {
                for (int r = 0; r < rows; r++) {
                    for (int b = 0; b < kp; b += rh.blockSize()) {
                        regularBlock(out, r * kp + b, rh.blockSize());
                    }
                }
            }
            case Rotation.SylvesterHadamard sh when sh.blockSize() != 0 -> {
                float scale = (float) (1.0 / Math.sqrt(sh.blockSize()));
                for (int r = 0; r < rows; r++) {
                    for (int b = 0; b < kp; b += sh.blockSize()) {
                        sylvesterBlock(out, r * kp + b, sh.blockSize(), scale);
                    }
                }
            }
            case Rotation.SylvesterHadamard sh -> {
                int[] hk = HadamardMatrices.decompose(k);
                float[] tmp = new float[hk[0]];
                for (int r = 0; r < rows; r++) {
                    globalSylvester(out, r * kp, hk[0], hk[1], tmp);
                }
            }
            case Rotation.Dense d -> {
                if (d.matrix().shape().dim(0) != k) {
                    throw new InvalidInputException("dense rotation of order " + d.matrix().shape().dim(0)
                            + " applied to rows of " + k);
                }
                float[] q = d.matrix().toFloatArray();
                float[] row = new float[k];
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(out, r * kp, row, 0, k);
                    for (int c = 0; c < k; c++) {
                        float s = 0f;
                        for (int i = 0; i < k; i++) {
                            s += row[i] * q[i * k + c];
                        }
                        out[r * kp + c] = s;
                    }
                }
            }
        }
        return out;
    }

    /**
     * In-place regular Hadamard of one block, canonical order.
     *
     * @param v data
     * @param off block start
     * @param n block size, a power of 4
     */
    public static void regularBlock(float[] v, int off, int n) {
        for (int s = 1; s < n; s *= 4) {
            for (int base = 0; base < n; base += 4 * s) {
                for (int j = base; j < base + s; j++) {
                    int i0 = off + j;
                    float a = v[i0];
                    float b = v[i0 + s];
                    float c = v[i0 + 2 * s];
                    float d = v[i0 + 3 * s];
                    float apb = a + b;
                    float amb = a - b;
                    float cpd = c + d;
                    float cmd = c - d;
                    v[i0] = apb + cmd;
                    v[i0 + s] = apb - cmd;
                    v[i0 + 2 * s] = amb + cpd;
                    v[i0 + 3 * s] = cpd - amb;
                }
            }
        }
        float scale = 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2));
        for (int i = off; i < off + n; i++) {
            v[i] *= scale;
        }
    }

    /**
     * In-place Sylvester Hadamard of one block, canonical order, then × scale.
     *
     * @param v data
     * @param off block start
     * @param n block size, a power of 2
     * @param scale the final factor ({@code (float) (1 / sqrt(n))} for an orthonormal block)
     */
    public static void sylvesterBlock(float[] v, int off, int n, float scale) {
        butterflies(v, off, n);
        for (int i = off; i < off + n; i++) {
            v[i] *= scale;
        }
    }

    private static void butterflies(float[] v, int off, int n) {
        for (int s = 1; s < n; s *= 2) {
            for (int base = 0; base < n; base += 2 * s) {
                for (int j = base; j < base + s; j++) {
                    float a = v[off + j];
                    float b = v[off + j + s];
                    v[off + j] = a + b;
                    v[off + j + s] = a - b;
                }
            }
        }
    }

    private static void globalSylvester(float[] v, int off, int hadK, int pow, float[] tmp) {
        for (int b = 0; b < hadK; b++) {
            butterflies(v, off + b * pow, pow);
        }
        if (hadK > 1) {
            int[][] h = HadamardMatrices.matrix(hadK);
            for (int j = 0; j < pow; j++) {
                for (int c = 0; c < hadK; c++) {
                    float s = 0f;
                    for (int r = 0; r < hadK; r++) {
                        float x = v[off + r * pow + j];
                        s += h[r][c] > 0 ? x : -x;
                    }
                    tmp[c] = s;
                }
                for (int c = 0; c < hadK; c++) {
                    v[off + c * pow + j] = tmp[c];
                }
            }
        }
        float scale = (float) (1.0 / Math.sqrt((double) hadK * pow));
        for (int i = off; i < off + hadK * pow; i++) {
            v[i] *= scale;
        }
    }
}
