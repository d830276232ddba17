package dev.nibble.methods.svdquant;

import dev.nibble.api.DType;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Tensor;
import dev.nibble.methods.core.FakeQuant;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.TruncatedSvd;

/**
 * SVDQuant's weight decomposition {@code W_s ≈ L1·L2 + Q(R)}: the rank-r branch from an SVD of the
 * smoothed weight, refined by alternating {@code L ← SVD_r(W_s − Q(W_s − L))} while the
 * reconstruction error falls (stops at the first rise). The branch is stored in F16, and the
 * residual is computed from the F16-rounded branch so that branch + residual reproduce W_s.
 *
 * @param lowRank the branch: down {@code [K, r]} = V, up {@code [N, r]} = U·Σ, both F16
 * @param residual {@code W_s − up·downᵀ}, {@code [N, K]}
 * @param error {@code ||W_s − L − Q(R)||_F²}
 * @param iterations refinement iterations accepted
 */
public record LowRankResidual(LowRank lowRank, float[] residual, double error, int iterations) {

    /**
     * @param ws smoothed weight {@code [n, k]}
     * @param n rows
     * @param k width
     * @param rank r
     * @param scheme the residual's scheme
     * @param maxIterations refinement iterations at most
     * @return the decomposition
     */
    public static LowRankResidual decompose(float[] ws, int n, int k, int rank, QuantScheme scheme, int maxIterations) {
        if (rank == 0) {
            float[] q = FakeQuant.apply(ws, n, k, scheme);
            return new LowRankResidual(null, ws.clone(), Mat.sqDist(ws, q), 0);
        }
        LowRankResidual best = fromTarget(ws, ws, n, k, rank, scheme, 0);
        for (int it = 1; it <= maxIterations; it++) {
            float[] q = FakeQuant.apply(best.residual, n, k, scheme);
            float[] target = new float[ws.length];
            for (int i = 0; i < ws.length; i++) {
                target[i] = ws[i] - q[i];
            }
            LowRankResidual next = fromTarget(ws, target, n, k, rank, scheme, it);
            if (next.error >= best.error) {
                break; // early stop on rising error
            }
            best = next;
        }
        return best;
    }

    private static LowRankResidual fromTarget(float[] ws, float[] target, int n, int k, int rank, QuantScheme scheme, int it) {
        TruncatedSvd.Result svd = TruncatedSvd.compute(target, n, k, rank, 4, 0x5EED + it);
        int r = svd.rank();
        Tensor down = Tensor.allocate(DType.F16, dev.nibble.api.Shape.of(k, r));
        Tensor up = Tensor.allocate(DType.F16, dev.nibble.api.Shape.of(n, r));
        for (int i = 0; i < k; i++) {
            for (int c = 0; c < r; c++) {
                down.setFloat((long) i * r + c, (float) svd.v()[i * r + c]);
            }
        }
        for (int o = 0; o < n; o++) {
            for (int c = 0; c < r; c++) {
                up.setFloat((long) o * r + c, (float) (svd.u()[o * r + c] * svd.sigma()[c]));
            }
        }
        float[] l = Mat.matmulNT(up.toFloatArray(), n, r, down.toFloatArray(), k); // up·downᵀ
        float[] residual = new float[ws.length];
        for (int i = 0; i < ws.length; i++) {
            residual[i] = ws[i] - l[i];
        }
        float[] q = FakeQuant.apply(residual, n, k, scheme);
        double err = 0;
        for (int i = 0; i < ws.length; i++) {
            double d = (double) residual[i] - q[i];
            err += d * d;
        }
        return new LowRankResidual(new LowRank(down, up), residual, err, it);
    }
}
