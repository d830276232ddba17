package dev.nibble.backend.cpu;

import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.HadamardMatrices;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The rotations of {@link dev.nibble.api.numerics.Hadamard} in the same canonical order, with the
 * butterflies of every stage whose stride is at least one vector run on whole vectors (the same
 * additions on the same operands, so the results are identical bit for bit); shorter strides and
 * the scale keep the scalar order. With 16 lanes (AVX-512) the strides 1 and 4 run inside each
 * vector through lane rearranges: every lane gathers its (a, b, c, d), and the sign vectors turn
 * {@code x - y} into {@code x + (-y)}, which IEEE 754 defines as the same operation, so every
 * output is still the canonical expression of the same operands, bit for bit.
 */
final class VectorRotations {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Whether the in-register stages (strides 1 and 4 inside one vector) apply. */
    static final boolean IN_REGISTER = L == 16;
    // in-register stage constants (strides 1 and 4), static finals so C2 folds them; see stageShuffle
    private static final VectorShuffle<Float> A1 = stageShuffle(1, 0);
    private static final VectorShuffle<Float> B1 = stageShuffle(1, 1);
    private static final VectorShuffle<Float> C1 = stageShuffle(1, 2);
    private static final VectorShuffle<Float> D1 = stageShuffle(1, 3);
    private static final VectorShuffle<Float> A4 = stageShuffle(4, 0);
    private static final VectorShuffle<Float> B4 = stageShuffle(4, 1);
    private static final VectorShuffle<Float> C4 = stageShuffle(4, 2);
    private static final VectorShuffle<Float> D4 = stageShuffle(4, 3);
    private static final FloatVector SB1 = stageSign(1, 0);
    private static final FloatVector SD1 = stageSign(1, 1);
    private static final FloatVector SX1 = stageSign(1, 2);
    private static final FloatVector SY1 = stageSign(1, 3);
    private static final FloatVector SB4 = stageSign(4, 0);
    private static final FloatVector SD4 = stageSign(4, 1);
    private static final FloatVector SX4 = stageSign(4, 2);
    private static final FloatVector SY4 = stageSign(4, 3);

    /**
     * A stage of stride s &lt; 16 inside a vector of 16 lanes: lane p is position q = (p / s) % 4 of its
     * quad and gathers operand t (a, b, c, d for t = 0..3) from lane {@code p - q*s + t*s}. Then
     * x = a + (±b) is a+b (q &lt; 2) or a-b, y = c + (∓d) is c-d (q &lt; 2) or c+d, and the output
     * (±x) + (±y) is apb+cmd, apb-cmd, amb+cpd, cpd-amb for q = 0..3.
     */
    private static VectorShuffle<Float> stageShuffle(int s, int t) {
        if (!IN_REGISTER) {
            return null;
        }
        int[] idx = new int[16];
        for (int p = 0; p < 16; p++) {
            int q = (p / s) % 4;
            idx[p] = p - q * s + t * s;
        }
        return VectorShuffle.fromArray(F, idx, 0);
    }

    /** Signs: 0 of b, 1 of d, 2 of x, 3 of y (see stageShuffle). */
    private static FloatVector stageSign(int s, int which) {
        if (!IN_REGISTER) {
            return null;
        }
        float[] sign = new float[16];
        for (int p = 0; p < 16; p++) {
            int q = (p / s) % 4;
            boolean neg = switch (which) {
                case 0 -> q >= 2;
                case 1 -> q < 2;
                case 2 -> q == 3;
                default -> q == 1;
            };
            sign[p] = neg ? -1f : 1f;
        }
        return FloatVector.fromArray(F, sign, 0);
    }

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

    /** The stages of stride 1 and 4 of one vector of 16 lanes. */
    static FloatVector inRegister(FloatVector v) {
        FloatVector x = v.rearrange(A1).add(v.rearrange(B1).mul(SB1));
        FloatVector y = v.rearrange(C1).add(v.rearrange(D1).mul(SD1));
        v = x.mul(SX1).add(y.mul(SY1));
        x = v.rearrange(A4).add(v.rearrange(B4).mul(SB4));
        y = v.rearrange(C4).add(v.rearrange(D4).mul(SD4));
        return x.mul(SX4).add(y.mul(SY4));
    }

    /**
     * The regular Hadamard of one block of n = 4^k &ge; 64 floats (16 lanes): each vector is read
     * from src once and gets its strides 1 and 4 in registers; the larger strides then work on the
     * block in dst while it is in L1, the last one scaling as it stores. Loops, not unrolled code:
     * a fully unrolled block is too large for C2 to inline the vector operations.
     */
    static void regularBlockInto(float[] src, int so, float[] dst, int d0, int n) {
        for (int i = 0; i < n; i += 16) {
            inRegister(FloatVector.fromArray(F, src, so + i)).intoArray(dst, d0 + i);
        }
        float scale = 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2));
        for (int s = 16; s < n; s *= 4) {
            float f = 4 * s == n ? scale : 1f;
            for (int base = 0; base < n; base += 4 * s) {
                for (int j = base; j < base + s; j += 16) {
                    int i0 = d0 + j;
                    FloatVector a = FloatVector.fromArray(F, dst, i0);
                    FloatVector b = FloatVector.fromArray(F, dst, i0 + s);
                    FloatVector c = FloatVector.fromArray(F, dst, i0 + 2 * s);
                    FloatVector d = FloatVector.fromArray(F, dst, i0 + 3 * s);
                    FloatVector apb = a.add(b);
                    FloatVector amb = a.sub(b);
                    FloatVector cpd = c.add(d);
                    FloatVector cmd = c.sub(d);
                    if (f != 1f) {
                        apb.add(cmd).mul(f).intoArray(dst, i0);
                        apb.sub(cmd).mul(f).intoArray(dst, i0 + s);
                        amb.add(cpd).mul(f).intoArray(dst, i0 + 2 * s);
                        cpd.sub(amb).mul(f).intoArray(dst, i0 + 3 * s);
                    } else {
                        apb.add(cmd).intoArray(dst, i0);
                        apb.sub(cmd).intoArray(dst, i0 + s);
                        amb.add(cpd).intoArray(dst, i0 + 2 * s);
                        cpd.sub(amb).intoArray(dst, i0 + 3 * s);
                    }
                }
            }
        }
    }

    static void regularBlock(float[] v, int off, int n) {
        if (IN_REGISTER && n >= 64) {
            regularBlockInto(v, off, v, off, n);
            return;
        }
        int first = 1;
        if (IN_REGISTER && n >= 16) {
            for (int i = off; i < off + n; i += 16) {
                inRegister(FloatVector.fromArray(F, v, i)).intoArray(v, i);
            }
            first = 16;
        }
        for (int s = first; s < n; s *= 4) {
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
