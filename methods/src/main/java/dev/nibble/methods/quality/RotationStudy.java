package dev.nibble.methods.quality;

import dev.nibble.api.Granularity;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.methods.core.FakeQuant;
import dev.nibble.methods.core.Mat;
import dev.nibble.api.QuantScheme;
import java.util.Random;

/** Section 1 of the report: what each rotation does to DiT-like activations. */
final class RotationStudy {
    /** One measured rotation. */
    record Row(String kind, String block, double maxAbs, double sqnrDb) {
    }

    private RotationStudy() {
    }

    /**
     * @param x activations {@code [rows, k]}
     * @param rows rows
     * @param k width
     * @param r the rotation
     * @return {@code {max|X·R|, SQNR (dB) of 4-bit per-token quantization of X·R}}
     */
    static double[] measure(float[] x, int rows, int k, Rotation r) {
        float[] xr = Hadamard.rotateRows(x, rows, k, r);
        float[] q = FakeQuant.apply(xr, rows, r.outputDim(k), QuantScheme.symmetric(4, Granularity.PER_TOKEN));
        return new double[] {Mat.absMax(xr), Mat.sqnrDb(xr, q)};
    }

    /**
     * @param k order
     * @param block block size (k for a global rotation)
     * @param seed seed
     * @return a block-diagonal random orthogonal rotation (Gram–Schmidt of Gaussian blocks)
     */
    static Rotation randomOrthogonal(int k, int block, long seed) {
        Random rnd = new Random(seed);
        float[] q = new float[k * k];
        for (int b = 0; b < k; b += block) {
            double[][] m = new double[block][block];
            for (int i = 0; i < block; i++) {
                for (int j = 0; j < block; j++) {
                    m[i][j] = rnd.nextGaussian();
                }
                for (int pass = 0; pass < 2; pass++) {
                    for (int p = 0; p < i; p++) {
                        double dot = 0;
                        for (int j = 0; j < block; j++) {
                            dot += m[i][j] * m[p][j];
                        }
                        for (int j = 0; j < block; j++) {
                            m[i][j] -= dot * m[p][j];
                        }
                    }
                    double norm = 0;
                    for (int j = 0; j < block; j++) {
                        norm += m[i][j] * m[i][j];
                    }
                    norm = Math.sqrt(norm);
                    for (int j = 0; j < block; j++) {
                        m[i][j] /= norm;
                    }
                }
            }
            for (int i = 0; i < block; i++) {
                for (int j = 0; j < block; j++) {
                    q[(b + i) * k + b + j] = (float) m[i][j];
                }
            }
        }
        return new Rotation.Dense(Tensor.ofFloats(q, k, k), "random-orthogonal-" + block);
    }
}
