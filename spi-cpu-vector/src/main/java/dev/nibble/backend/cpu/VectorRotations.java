package dev.nibble.backend.cpu;

import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.HadamardMatrices;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The rotations of {@link dev.nibble.api.numerics.Hadamard} in the same canonical order, with the
 * butterflies of every stage whose stride is at least one vector run on whole vectors (the same
 * additions on the same operands, so the results are identical bit for bit); shorter strides and
 * the scale keep the scalar order.
 */
final class VectorRotations {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    private VectorRotations() {
    }

    /** Rotates rows in place; {@code v} holds rows of length kp (already zero-padded). */
    static void rotateRow(float[] v, int off, int k, int kp, Rotation rotation, float[] tmp) {
        switch (rotation) {
            case Rotation.Identity id -> { }
            case Rotation.RegularHadamard rh -> {
                for (int b = 0; b < kp; b += rh.blockSize()) {
                    regularBlock(v, off + b, rh.blockSize());
                }
            }
            case Rotation.SylvesterHadamard sh when sh.blockSize() != 0 -> {
                float scale = (float) (1.0 / Math.sqrt(sh.blockSize()));
                for (int b = 0; b < kp; b += sh.blockSize()) {
                    butterflies(v, off + b, sh.blockSize());
                    scale(v, off + b, sh.blockSize(), scale);
                }
            }
            case Rotation.SylvesterHadamard sh -> {
                int[] hk = HadamardMatrices.decompose(k);
                global(v, off, hk[0], hk[1], tmp);
            }
            case Rotation.Dense d -> throw new IllegalStateException("dense rotations go through denseRows");
        }
    }

    static void regularBlock(float[] v, int off, int n) {
        for (int s = 1; s < n; s *= 4) {
            for (int base = 0; base < n; base += 4 * s) {
                int j = base;
                if (s >= L) {
                    for (; j < base + s; j += L) {
                        int i0 = off + j;
                        FloatVector a = FloatVector.fromArray(F, v, i0);
                        FloatVector b = FloatVector.fromArray(F, v, i0 + s);
                        FloatVector c = FloatVector.fromArray(F, v, i0 + 2 * s);
                        FloatVector d = FloatVector.fromArray(F, v, i0 + 3 * s);
                        FloatVector apb = a.add(b);
                        FloatVector amb = a.sub(b);
                        FloatVector cpd = c.add(d);
                        FloatVector cmd = c.sub(d);
                        apb.add(cmd).intoArray(v, i0);
                        apb.sub(cmd).intoArray(v, i0 + s);
                        amb.add(cpd).intoArray(v, i0 + 2 * s);
                        cpd.sub(amb).intoArray(v, i0 + 3 * s);
                    }
                }
                for (; j < base + s; j++) {
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
        scale(v, off, n, 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2)));
    }

    static void butterflies(float[] v, int off, int n) {
        for (int s = 1; s < n; s *= 2) {
            for (int base = 0; base < n; base += 2 * s) {
                int j = base;
                if (s >= L) {
                    for (; j < base + s; j += L) {
                        FloatVector a = FloatVector.fromArray(F, v, off + j);
                        FloatVector b = FloatVector.fromArray(F, v, off + j + s);
                        a.add(b).intoArray(v, off + j);
                        a.sub(b).intoArray(v, off + j + s);
                    }
                }
                for (; j < base + s; j++) {
                    float a = v[off + j];
                    float b = v[off + j + s];
                    v[off + j] = a + b;
                    v[off + j + s] = a - b;
                }
            }
        }
    }

    static void scale(float[] v, int off, int n, float scale) {
        int i = off;
        for (; i + L <= off + n; i += L) {
            FloatVector.fromArray(F, v, i).mul(scale).intoArray(v, i);
        }
        for (; i < off + n; i++) {
            v[i] *= scale;
        }
    }

    /** Global Sylvester: butterflies per power-of-two block, the hadK mixing (r ascending from 0), the scale. */
    static void global(float[] v, int off, int hadK, int pow, float[] tmp) {
        for (int b = 0; b < hadK; b++) {
            butterflies(v, off + b * pow, pow);
        }
        if (hadK > 1) {
            int[][] h = HadamardMatrices.matrix(hadK);
            int j = 0;
            if (pow >= L) {
                float[] block = tmp.length >= hadK * L ? tmp : new float[hadK * L];
                for (; j + L <= pow; j += L) {
                    for (int c = 0; c < hadK; c++) {
                        FloatVector s = FloatVector.zero(F);
                        for (int r = 0; r < hadK; r++) {
                            FloatVector x = FloatVector.fromArray(F, v, off + r * pow + j);
                            s = h[r][c] > 0 ? s.add(x) : s.add(x.neg());
                        }
                        s.intoArray(block, c * L);
                    }
                    for (int c = 0; c < hadK; c++) {
                        FloatVector.fromArray(F, block, c * L).intoArray(v, off + c * pow + j);
                    }
                }
            }
            for (; j < pow; j++) {
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
        scale(v, off, hadK * pow, (float) (1.0 / Math.sqrt((double) hadK * pow)));
    }

    /** y[c] = Σ_r x[r]·Q[r][c], r ascending, multiply then add (no FMA), vectorized over c. */
    static void denseRow(float[] x, int xo, float[] q, int k, float[] y, int yo) {
        int c = 0;
        for (; c + L <= k; c += L) {
            FloatVector s = FloatVector.zero(F);
            for (int r = 0; r < k; r++) {
                s = s.add(FloatVector.fromArray(F, q, r * k + c).mul(x[xo + r]));
            }
            s.intoArray(y, yo + c);
        }
        for (; c < k; c++) {
            float s = 0f;
            for (int r = 0; r < k; r++) {
                s += x[xo + r] * q[r * k + c];
            }
            y[yo + c] = s;
        }
    }
}
