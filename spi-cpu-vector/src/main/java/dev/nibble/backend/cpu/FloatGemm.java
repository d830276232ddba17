package dev.nibble.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked F32 GEMM {@code y = x·wᵀ} on the Vector API. w [N, K] is packed once into column
 * blocks of NB = 3 vectors, k-major (zero-padded at the right edge), read in panels of
 * {@code KC × NB} that stay in L1/L2; a 4 × 3-vector micro-kernel keeps 12 accumulators in
 * registers and broadcasts one x value per row and k. Tasks are (column block × row chunk) tiles.
 */
final class FloatGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final int NV = 3;
    static final int NB = NV * L;
    static final int MR = 4;
    static final int KC = 256;

    private FloatGemm() {
    }

    /**
     * Packs w [n, k] into column blocks of NB, k-major: {@code [block][k][NB]}, zero-padded past n.
     * Done once per weight (at prepare time for a layer), so the GEMM reads panels sequentially.
     */
    static float[] pack(float[] w, int n, int k) {
        int blocks = (n + NB - 1) / NB;
        float[] p = new float[blocks * k * NB];
        for (int b = 0; b < blocks; b++) {
            int base = b * k * NB;
            for (int j = 0; j < NB && b * NB + j < n; j++) {
                int src = (b * NB + j) * k;
                for (int t = 0; t < k; t++) {
                    p[base + t * NB + j] = w[src + t];
                }
            }
        }
        return p;
    }

    static void run(WorkerPool pool, float[] x, int m, int k, float[] w, int n, float[] y) {
        if (m < MR) {
            rowsDot(pool, x, m, k, w, n, y);
            return;
        }
        runPacked(pool, x, m, k, pack(w, n, k), n, y);
    }

    /**
     * y = x · wᵀ for fewer than MR rows straight from row-major w: packing would read and write all
     * of w to use it once or twice. Dot products four columns at a time (one x load feeds four FMAs).
     */
    static void rowsDot(WorkerPool pool, float[] x, int m, int k, float[] w, int n, float[] y) {
        int cols = 64;
        pool.forEach((n + cols - 1) / cols, task -> {
            int c1 = Math.min(n, (task + 1) * cols);
            for (int i = 0; i < m; i++) {
                int xo = i * k;
                int c = task * cols;
                for (; c + 4 <= c1; c += 4) {
                    int w0 = c * k;
                    FloatVector s0 = FloatVector.zero(F);
                    FloatVector s1 = s0;
                    FloatVector s2 = s0;
                    FloatVector s3 = s0;
                    int t = 0;
                    for (; t + L <= k; t += L) {
                        FloatVector a = FloatVector.fromArray(F, x, xo + t);
                        s0 = FloatVector.fromArray(F, w, w0 + t).fma(a, s0);
                        s1 = FloatVector.fromArray(F, w, w0 + k + t).fma(a, s1);
                        s2 = FloatVector.fromArray(F, w, w0 + 2 * k + t).fma(a, s2);
                        s3 = FloatVector.fromArray(F, w, w0 + 3 * k + t).fma(a, s3);
                    }
                    float r0 = LaneSum.of(s0);
                    float r1 = LaneSum.of(s1);
                    float r2 = LaneSum.of(s2);
                    float r3 = LaneSum.of(s3);
                    for (; t < k; t++) {
                        float a = x[xo + t];
                        r0 += a * w[w0 + t];
                        r1 += a * w[w0 + k + t];
                        r2 += a * w[w0 + 2 * k + t];
                        r3 += a * w[w0 + 3 * k + t];
                    }
                    y[i * n + c] = r0;
                    y[i * n + c + 1] = r1;
                    y[i * n + c + 2] = r2;
                    y[i * n + c + 3] = r3;
                }
                for (; c < c1; c++) {
                    y[i * n + c] = VectorKernels.dot(x, xo, w, c * k, k);
                }
            }
        });
    }

    /** y [m, n] += x [m, k] · wᵀ with w packed by {@link #pack}. */
    static void runPacked(WorkerPool pool, float[] x, int m, int k, float[] packed, int n, float[] y) {
        if (m == 0 || n == 0 || k == 0) {
            return;
        }
        int nBlocks = (n + NB - 1) / NB;
        IntGemm.Tiling t = IntGemm.Tiling.of(pool, m, nBlocks);
        pool.forEach(t.tasks(), task -> {
            int nb = task % nBlocks;
            int m0 = (task / nBlocks) * t.rowsPerChunk();
            int m1 = Math.min(m, m0 + t.rowsPerChunk());
            int n0 = nb * NB;
            int nw = Math.min(NB, n - n0);
            float[] tile = new float[MR * NB];
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                int po = (nb * k + k0) * NB;
                for (int i = m0; i < m1; i += MR) {
                    tileStep(x, k, i, Math.min(MR, m1 - i), k0, kc, packed, po, NB, y, n, n0, nw, tile);
                }
            }
        });
    }

    /**
     * Adds x[i..i+mr, k0..k0+kc] · panel into y[i..i+mr, n0..n0+nw] (through a tile at the edges).
     * The panel holds NB columns at offset po of rows of stride ps.
     */
    static void tileStep(float[] x, int k, int i, int mr, int k0, int kc, float[] panel, int po, int ps, float[] y,
            int n, int n0, int nw, float[] tile) {
        boolean full = mr == MR && nw == NB;
        int xo0 = i * k + k0;
        int xo1 = (i + Math.min(1, mr - 1)) * k + k0;
        int xo2 = (i + Math.min(2, mr - 1)) * k + k0;
        int xo3 = (i + Math.min(3, mr - 1)) * k + k0;
        if (full) {
            int yo = i * n + n0;
            micro(x, xo0, xo1, xo2, xo3, kc, panel, po, ps, y, yo, yo + n, yo + 2 * n, yo + 3 * n);
            return;
        }
        for (int r = 0; r < MR; r++) {
            for (int j = 0; j < NB; j++) {
                tile[r * NB + j] = r < mr && j < nw ? y[(i + r) * n + n0 + j] : 0f;
            }
        }
        micro(x, xo0, xo1, xo2, xo3, kc, panel, po, ps, tile, 0, NB, 2 * NB, 3 * NB);
        for (int r = 0; r < mr; r++) {
            System.arraycopy(tile, r * NB, y, (i + r) * n + n0, nw);
        }
    }

    private static void micro(float[] x, int xo0, int xo1, int xo2, int xo3, int kc, float[] p, int po0, int ps,
            float[] y, int yo0, int yo1, int yo2, int yo3) {
        FloatVector c00 = FloatVector.fromArray(F, y, yo0);
        FloatVector c01 = FloatVector.fromArray(F, y, yo0 + L);
        FloatVector c02 = FloatVector.fromArray(F, y, yo0 + 2 * L);
        FloatVector c10 = FloatVector.fromArray(F, y, yo1);
        FloatVector c11 = FloatVector.fromArray(F, y, yo1 + L);
        FloatVector c12 = FloatVector.fromArray(F, y, yo1 + 2 * L);
        FloatVector c20 = FloatVector.fromArray(F, y, yo2);
        FloatVector c21 = FloatVector.fromArray(F, y, yo2 + L);
        FloatVector c22 = FloatVector.fromArray(F, y, yo2 + 2 * L);
        FloatVector c30 = FloatVector.fromArray(F, y, yo3);
        FloatVector c31 = FloatVector.fromArray(F, y, yo3 + L);
        FloatVector c32 = FloatVector.fromArray(F, y, yo3 + 2 * L);
        for (int kk = 0; kk < kc; kk++) {
            int po = po0 + kk * ps;
            FloatVector b0 = FloatVector.fromArray(F, p, po);
            FloatVector b1 = FloatVector.fromArray(F, p, po + L);
            FloatVector b2 = FloatVector.fromArray(F, p, po + 2 * L);
            FloatVector a = FloatVector.broadcast(F, x[xo0 + kk]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            c02 = b2.fma(a, c02);
            a = FloatVector.broadcast(F, x[xo1 + kk]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            c12 = b2.fma(a, c12);
            a = FloatVector.broadcast(F, x[xo2 + kk]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            c22 = b2.fma(a, c22);
            a = FloatVector.broadcast(F, x[xo3 + kk]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            c32 = b2.fma(a, c32);
        }
        c00.intoArray(y, yo0);
        c01.intoArray(y, yo0 + L);
        c02.intoArray(y, yo0 + 2 * L);
        c10.intoArray(y, yo1);
        c11.intoArray(y, yo1 + L);
        c12.intoArray(y, yo1 + 2 * L);
        c20.intoArray(y, yo2);
        c21.intoArray(y, yo2 + L);
        c22.intoArray(y, yo2 + 2 * L);
        c30.intoArray(y, yo3);
        c31.intoArray(y, yo3 + L);
        c32.intoArray(y, yo3 + 2 * L);
    }
}
