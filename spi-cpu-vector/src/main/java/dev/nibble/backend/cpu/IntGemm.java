package dev.nibble.backend.cpu;

import dev.nibble.api.numerics.Nf4;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Integer and weight-only GEMMs on the Vector API against a {@link PackedWeight}.
 *
 * <p>Integer GEMM, exact: centered codes ({@code code - zero}) are small integers, so float32
 * fused multiply-adds on them are exact as long as every partial sum stays below 2^24 in
 * magnitude. The k loop therefore runs in chunks short enough for that bound
 * ({@code chunk · max|a| · max|w| < 2^24}); after each chunk the float partials are converted to
 * int32 and added to int32 accumulators. The result equals int32 accumulation bit for bit.
 *
 * <p>4-bit weights use two channels per float lane: the panel holds {@code w[c] + 4096·w[c+L]},
 * so one FMA performs two multiply-adds. With {@code chunk · max|a|·max|w| ≤ 2047} the low field
 * never reaches half of 4096, and each chunk's sum {@code T = lo + 4096·hi} decodes exactly:
 * {@code hi = rint(T / 4096)}, {@code lo = T − 4096·hi}. The bounds are the largest centered codes
 * actually present (weights: measured at prepare time; activations: per call), so W4A4 symmetric
 * codes from the quantizer (|a|, |w| ≤ 7) run chunks of 41, and codes of −8 chunks of 31.
 *
 * <p>Dequantization per output group, groups ascending: {@code y += ((float) acc · sa) · sw}
 * (no FMA), the same float operations as the scalar path.
 */
final class IntGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** L short lanes (256 bits on AVX-512: as fast per lane as 512 on Zen 4, and one byte vector widens into it). */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final int HALF = 3 * L;
    static final int BW = 2 * HALF;
    static final int MR = 4;
    static final int KC = 256;
    static final int MAX_ROWS_PER_TASK = 128;
    static final float MAGIC = 12582912f; // 1.5 · 2^23: x + MAGIC − MAGIC rounds half to even for |x| < 2^22
    private static final float[] NF4 = Nf4.values();
    /** The code book in one vector (16 lanes) or two (8 lanes: values 0..7 and 8..15). */
    private static final FloatVector NF4_LO = FloatVector.fromArray(F, java.util.Arrays.copyOf(NF4, Math.max(16, L)), 0);
    private static final FloatVector NF4_HI = L >= 16 ? NF4_LO
            : FloatVector.fromArray(F, java.util.Arrays.copyOfRange(NF4, L, 2 * L), 0);

    private IntGemm() {
    }

    /** Task tiling: column blocks × row chunks. */
    record Tiling(int blocks, int rowsPerChunk, int chunks) {
        static Tiling of(WorkerPool pool, int m, int blocks) {
            int groups = (m + MR - 1) / MR;
            int want = Math.max(1, 2 * pool.threads());
            int chunksWanted = Math.max((want + blocks - 1) / blocks, (m + MAX_ROWS_PER_TASK - 1) / MAX_ROWS_PER_TASK);
            int mChunks = Math.max(1, Math.min(groups, chunksWanted));
            int rows = (groups + mChunks - 1) / mChunks * MR;
            return new Tiling(blocks, rows, (m + rows - 1) / rows);
        }

        int tasks() {
            return blocks * chunks;
        }
    }

    /**
     * @param a activation codes [M, K]
     * @param w packed weight [N, K]
     * @param g output group length (K for per-row)
     * @param y receives F32 [M, N] if not null (zero-filled on entry)
     * @param accOut receives int32 [G, M, N] if not null
     */
    static void run(WorkerPool pool, Quantized a, PackedWeight w, int g, float[] y, int[] accOut) {
        run(pool, a, w, g, y, accOut, a.rows() == 1, true);
    }

    /** As above; {@code smallM} picks the small-M kernel (timing mains compare both). */
    static void run(WorkerPool pool, Quantized a, PackedWeight w, int g, float[] y, int[] accOut, boolean smallM) {
        run(pool, a, w, g, y, accOut, smallM, true);
    }

    /** As above; {@code int16} lets the small-M kernel take the 16-bit path where it applies. */
    static void run(WorkerPool pool, Quantized a, PackedWeight w, int g, float[] y, int[] accOut, boolean smallM,
            boolean int16) {
        int m = a.rows();
        int k = a.k();
        int n = w.n;
        if (m == 0 || n == 0) {
            return;
        }
        int groups = Math.max(1, (k + g - 1) / g);
        float[] x = centered(a);
        // the bound that matters is the data's: symmetric codes with clip 1 never reach −8 / −128
        long p = Math.max(1L, (long) maxAbs(x) * w.maxCentered);
        boolean pair = w.four && 2047 / p >= 8;
        int chunk = (int) (pair ? 2047 / p : Math.min(1 << 20, (1L << 24) / p));
        if (smallM) {
            int shortChunk = (int) Math.min(1 << 20, Short.MAX_VALUE / p);
            if (int16 && signedNibbles(w) && shortChunk >= 16) {
                gemvShort(pool, a, x, w, g, groups, shortChunk, y, accOut);
            } else {
                gemv(pool, a, x, w, g, groups, pair, chunk, y, accOut);
            }
            return;
        }
        Tiling t = Tiling.of(pool, m, w.blocks);
        pool.forEach(t.tasks(), task -> {
            int b = task % t.blocks();
            int m0 = (task / t.blocks()) * t.rowsPerChunk();
            int m1 = Math.min(m, m0 + t.rowsPerChunk());
            int n0 = b * BW;
            int rows = m1 - m0;
            int[] acc = new int[rows * BW];
            float[] panel = new float[KC * (pair ? HALF : BW)];
            float[] raw = new float[BW];
            float[] ct = new float[MR * HALF];
            for (int gi = 0; gi < groups; gi++) {
                int gs = gi * g;
                int ge = Math.min(k, gs + g);
                int wg = w.wGroup(gi, g);
                for (int k0 = gs; k0 < ge; k0 += KC) {
                    int kc = Math.min(KC, ge - k0);
                    if (pair) {
                        pairPanel(w, b, k0, kc, wg, raw, panel);
                    } else {
                        for (int kk = 0; kk < kc; kk++) {
                            unpackRow(w, b, k0 + kk, wg, panel, kk * BW, false);
                        }
                    }
                    for (int i = m0; i < m1; i += MR) {
                        int mr = Math.min(MR, m1 - i);
                        int xo0 = i * k + k0;
                        int xo1 = (i + Math.min(1, mr - 1)) * k + k0;
                        int xo2 = (i + Math.min(2, mr - 1)) * k + k0;
                        int xo3 = (i + Math.min(3, mr - 1)) * k + k0;
                        int ar = (i - m0) * BW;
                        for (int c0 = 0; c0 < kc; c0 += chunk) {
                            int cl = Math.min(chunk, kc - c0);
                            if (pair) {
                                micro(x, xo0 + c0, xo1 + c0, xo2 + c0, xo3 + c0, cl, panel, c0 * HALF, HALF, ct);
                                foldPair(ct, acc, ar, mr);
                            } else {
                                for (int h = 0; h < BW; h += HALF) {
                                    micro(x, xo0 + c0, xo1 + c0, xo2 + c0, xo3 + c0, cl, panel, c0 * BW + h, BW, ct);
                                    foldPlain(ct, 0, acc, ar + h, mr);
                                }
                            }
                        }
                    }
                }
                epilogue(a, w, b, wg, gi, m0, rows, n0, acc, y, accOut, m);
                java.util.Arrays.fill(acc, 0);
            }
        });
    }

    /**
     * Integer GEMM for a single row (M = 1; from M = 2 the tiled kernel's shared unpacking wins):
     * signed 8-bit codes are decoded in registers, other codes unpacked one k row at a time into L1
     * and used at once (no k-panel, no duplicated rows of the 4-row micro-kernel). Same exact
     * chunked float sums and int32 folds, so the accumulators are equal.
     */
    private static void gemv(WorkerPool pool, Quantized a, float[] x, PackedWeight w, int g, int groups, boolean pair,
            int chunk, float[] y, int[] accOut) {
        int m = a.rows();
        int k = a.k();
        pool.forEach(w.blocks, b -> {
            int n0 = b * BW;
            int[] acc = new int[m * BW];
            float[] raw = new float[BW];
            float[] ct = new float[BW];
            for (int gi = 0; gi < groups; gi++) {
                int gs = gi * g;
                int ge = Math.min(k, gs + g);
                int wg = w.wGroup(gi, g);
                for (int i = 0; i < m; i++) {
                    for (int c0 = gs; c0 < ge; c0 += chunk) {
                        int c1 = Math.min(ge, c0 + chunk);
                        if (pair) {
                            gemvPairChunk(w, b, wg, x, i * k, c0, c1, raw, ct);
                            foldPair(ct, acc, i * BW, 1);
                        } else {
                            gemvChunk(w, b, wg, x, i * k, c0, c1, raw, ct);
                            foldPlain(ct, 0, acc, i * BW, 1);
                            foldPlain(ct, HALF, acc, i * BW + HALF, 1);
                        }
                    }
                }
                epilogue(a, w, b, wg, gi, 0, m, n0, acc, y, accOut, m);
                java.util.Arrays.fill(acc, 0);
            }
        });
    }

    /** Signed 4-bit codes without zero points (not NF4): the layout the 16-bit GEMV decodes in registers. */
    static boolean signedNibbles(PackedWeight w) {
        return w.four && !w.unsigned && w.zeros == null && !w.nf4();
    }

    /**
     * Small-M integer GEMM for signed 4-bit weights in 16-bit lanes: one byte vector of packed codes
     * widens into L shorts, two shifts give both nibbles, {@code mul} + {@code add} on shorts (exact:
     * the products and every sum of at most {@code chunk = 32767 / max|a·w|} of them fit in a short),
     * and each chunk is widened into the int32 accumulators. Per code this is about half the vector
     * work of the float path (no byte→int→float conversion, no FMA on a 2× wider register); the
     * accumulators are the same integers.
     */
    private static void gemvShort(WorkerPool pool, Quantized a, float[] x, PackedWeight w, int g, int groups,
            int chunk, float[] y, int[] accOut) {
        int m = a.rows();
        int k = a.k();
        short[] xs = new short[x.length];
        int[] prefix = new int[x.length + 1]; // Σ xs[0, i): the chunk kernel's low-nibble correction
        for (int i = 0; i < x.length; i++) {
            xs[i] = (short) x[i];
            prefix[i + 1] = prefix[i] + xs[i];
        }
        // a group that fits one chunk is dequantized straight from its short sums (no int32 round trip)
        boolean direct = accOut == null && g <= chunk;
        int n = w.n;
        pool.forEach(w.blocks, b -> {
            int n0 = b * BW;
            int[] acc = new int[m * BW];
            int[] lanes = new int[L];
            for (int gi = 0; gi < groups; gi++) {
                int gs = gi * g;
                int ge = Math.min(k, gs + g);
                int wg = w.wGroup(gi, g);
                for (int i = 0; i < m; i++) {
                    for (int c0 = gs; c0 < ge; c0 += chunk) {
                        if (direct) {
                            gemvShortChunk(w, b, xs, prefix, i * k, c0, ge, null, 0, y, i * n + n0, a.scale(i, gi),
                                    (b * w.wGroups + wg) * w.bw, n - n0, lanes);
                        } else {
                            gemvShortChunk(w, b, xs, prefix, i * k, c0, Math.min(ge, c0 + chunk), acc, i * BW, null, 0, 0f, 0, 0,
                                    lanes);
                        }
                    }
                }
                if (!direct) {
                    epilogue(a, w, b, wg, gi, 0, m, n0, acc, y, accOut, m);
                    java.util.Arrays.fill(acc, 0);
                }
            }
        });
    }

    /**
     * Σ_{t in [c0, c1)} xs[xo + t] · w[t][j] for the BW channels j of block b, in shorts; added to
     * {@code acc[ao + j]}, or, when {@code acc} is null, dequantized into {@code y[yo + j]} for the
     * first {@code cols} channels with the epilogue's float operations ({@code ((float) s · sa) · sw}).
     */
    private static void gemvShortChunk(PackedWeight w, int b, short[] xs, int[] prefix, int xo, int c0, int c1, int[] acc, int ao,
            float[] y, int yo, float sa, int so, int cols, int[] lanes) {
        // Low nibbles without the two-shift sign extension: flipping bit 3 of a byte b = 16·hi + lo
        // (lo signed) gives b' = 16·hi + lo + 8, so Σ lo·x = Σ b'·x − 16·Σ hi·x − 8·Σ x, with
        // hi = b' >> 4. The sums may wrap in 16 bits; the difference is taken modulo 2^16 as well
        // and the true Σ lo·x fits a short (the chunk bound), so it comes out exact.
        ShortVector f0 = ShortVector.zero(S);
        ShortVector f1 = f0;
        ShortVector f2 = f0;
        ShortVector s1 = f0;
        ShortVector s3 = f0;
        ShortVector s5 = f0;
        byte[] codes = w.codes;
        for (int t = c0; t < c1; t++) {
            int row = (b * w.k + t) * w.rowBytes;
            ShortVector xa = ShortVector.broadcast(S, xs[xo + t]);
            ShortVector v0 = (ShortVector) ByteVector.fromArray(B, codes, row).lanewise(VectorOperators.XOR, (byte) 8)
                    .convertShape(VectorOperators.B2S, S, 0);
            ShortVector v1 = (ShortVector) ByteVector.fromArray(B, codes, row + L).lanewise(VectorOperators.XOR, (byte) 8)
                    .convertShape(VectorOperators.B2S, S, 0);
            ShortVector v2 = (ShortVector) ByteVector.fromArray(B, codes, row + 2 * L).lanewise(VectorOperators.XOR, (byte) 8)
                    .convertShape(VectorOperators.B2S, S, 0);
            f0 = f0.add(v0.mul(xa));
            s1 = s1.add(v0.lanewise(VectorOperators.ASHR, 4).mul(xa));
            f1 = f1.add(v1.mul(xa));
            s3 = s3.add(v1.lanewise(VectorOperators.ASHR, 4).mul(xa));
            f2 = f2.add(v2.mul(xa));
            s5 = s5.add(v2.lanewise(VectorOperators.ASHR, 4).mul(xa));
        }
        short bias = (short) (8 * (prefix[xo + c1] - prefix[xo + c0]));
        ShortVector s0 = f0.sub(s1.lanewise(VectorOperators.LSHL, 4)).sub(bias);
        ShortVector s2 = f1.sub(s3.lanewise(VectorOperators.LSHL, 4)).sub(bias);
        ShortVector s4 = f2.sub(s5.lanewise(VectorOperators.LSHL, 4)).sub(bias);
        if (acc == null) {
            dequantize(s0, 0, y, yo, sa, w.scales, so, cols, lanes);
            dequantize(s1, L, y, yo, sa, w.scales, so, cols, lanes);
            dequantize(s2, 2 * L, y, yo, sa, w.scales, so, cols, lanes);
            dequantize(s3, 3 * L, y, yo, sa, w.scales, so, cols, lanes);
            dequantize(s4, 4 * L, y, yo, sa, w.scales, so, cols, lanes);
            dequantize(s5, 5 * L, y, yo, sa, w.scales, so, cols, lanes);
            return;
        }
        widenAdd(s0, acc, ao);
        widenAdd(s1, acc, ao + L);
        widenAdd(s2, acc, ao + 2 * L);
        widenAdd(s3, acc, ao + 3 * L);
        widenAdd(s4, acc, ao + 4 * L);
        widenAdd(s5, acc, ao + 5 * L);
    }

    /** y[yo + j + i] += ((float) s[i] · sa) · sw[so + j + i] for the lanes i with j + i < cols (as {@link #epilogue}). */
    private static void dequantize(ShortVector s, int j, float[] y, int yo, float sa, float[] sw, int so, int cols,
            int[] lanes) {
        IntVector v = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        if (j + L <= cols) {
            FloatVector t = ((FloatVector) v.convert(VectorOperators.I2F, 0)).mul(sa).mul(FloatVector.fromArray(F, sw, so + j));
            FloatVector.fromArray(F, y, yo + j).add(t).intoArray(y, yo + j);
            return;
        }
        v.intoArray(lanes, 0);
        for (int i = 0; j + i < cols && i < L; i++) {
            y[yo + j + i] += ((float) lanes[i] * sa) * sw[so + j + i];
        }
    }

    private static void widenAdd(ShortVector s, int[] acc, int ai) {
        IntVector v = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        IntVector.fromArray(I, acc, ai).add(v).intoArray(acc, ai);
    }

    /** ct[0..BW) = Σ_{t in [c0, c1)} x[xo + t] · w[t][0 .. BW) (centered codes, exact). */
    private static void gemvChunk(PackedWeight w, int b, int wg, float[] x, int xo, int c0, int c1, float[] raw,
            float[] ct) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector s4 = s0;
        FloatVector s5 = s0;
        if (!w.four && !w.unsigned && w.zeros == null) {
            // signed 8-bit codes without zero points: decode in registers, no row buffer
            for (int t = c0; t < c1; t++) {
                int row = (b * w.k + t) * w.rowBytes;
                FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
                s0 = toFloat(ByteVector.fromArray(B, w.codes, row)).fma(xa, s0);
                s1 = toFloat(ByteVector.fromArray(B, w.codes, row + L)).fma(xa, s1);
                s2 = toFloat(ByteVector.fromArray(B, w.codes, row + 2 * L)).fma(xa, s2);
                s3 = toFloat(ByteVector.fromArray(B, w.codes, row + 3 * L)).fma(xa, s3);
                s4 = toFloat(ByteVector.fromArray(B, w.codes, row + 4 * L)).fma(xa, s4);
                s5 = toFloat(ByteVector.fromArray(B, w.codes, row + 5 * L)).fma(xa, s5);
            }
            c1 = c0;
        } else if (w.four && !w.unsigned && w.zeros == null && !w.nf4()) {
            for (int t = c0; t < c1; t++) {
                int row = (b * w.k + t) * w.rowBytes;
                FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
                ByteVector v0 = ByteVector.fromArray(B, w.codes, row);
                ByteVector v1 = ByteVector.fromArray(B, w.codes, row + L);
                ByteVector v2 = ByteVector.fromArray(B, w.codes, row + 2 * L);
                s0 = lo4(v0).fma(xa, s0);
                s1 = hi4(v0).fma(xa, s1);
                s2 = lo4(v1).fma(xa, s2);
                s3 = hi4(v1).fma(xa, s3);
                s4 = lo4(v2).fma(xa, s4);
                s5 = hi4(v2).fma(xa, s5);
            }
            c1 = c0;
        }
        for (int t = c0; t < c1; t++) {
            unpackRow(w, b, t, wg, raw, 0, false);
            FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
            s0 = FloatVector.fromArray(F, raw, 0).fma(xa, s0);
            s1 = FloatVector.fromArray(F, raw, L).fma(xa, s1);
            s2 = FloatVector.fromArray(F, raw, 2 * L).fma(xa, s2);
            s3 = FloatVector.fromArray(F, raw, 3 * L).fma(xa, s3);
            s4 = FloatVector.fromArray(F, raw, 4 * L).fma(xa, s4);
            s5 = FloatVector.fromArray(F, raw, 5 * L).fma(xa, s5);
        }
        s0.intoArray(ct, 0);
        s1.intoArray(ct, L);
        s2.intoArray(ct, 2 * L);
        s3.intoArray(ct, 3 * L);
        s4.intoArray(ct, 4 * L);
        s5.intoArray(ct, 5 * L);
    }

    /** The paired form of {@link #gemvChunk}: lane v·L + i sums w[2vL + i] + 4096 · w[2vL + L + i]. */
    private static void gemvPairChunk(PackedWeight w, int b, int wg, float[] x, int xo, int c0, int c1, float[] raw,
            float[] ct) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        if (w.four && !w.unsigned && w.zeros == null && !w.nf4()) {
            for (int t = c0; t < c1; t++) {
                int row = (b * w.k + t) * w.rowBytes;
                FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
                ByteVector v0 = ByteVector.fromArray(B, w.codes, row);
                ByteVector v1 = ByteVector.fromArray(B, w.codes, row + L);
                ByteVector v2 = ByteVector.fromArray(B, w.codes, row + 2 * L);
                s0 = hi4(v0).mul(4096f).add(lo4(v0)).fma(xa, s0);
                s1 = hi4(v1).mul(4096f).add(lo4(v1)).fma(xa, s1);
                s2 = hi4(v2).mul(4096f).add(lo4(v2)).fma(xa, s2);
            }
            c1 = c0;
        }
        for (int t = c0; t < c1; t++) {
            unpackRow(w, b, t, wg, raw, 0, false);
            FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
            s0 = FloatVector.fromArray(F, raw, L).mul(4096f).add(FloatVector.fromArray(F, raw, 0)).fma(xa, s0);
            s1 = FloatVector.fromArray(F, raw, 3 * L).mul(4096f).add(FloatVector.fromArray(F, raw, 2 * L)).fma(xa, s1);
            s2 = FloatVector.fromArray(F, raw, 5 * L).mul(4096f).add(FloatVector.fromArray(F, raw, 4 * L)).fma(xa, s2);
        }
        s0.intoArray(ct, 0);
        s1.intoArray(ct, L);
        s2.intoArray(ct, 2 * L);
    }

    static int maxAbs(float[] x) {
        FloatVector m = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= x.length; i += L) {
            m = m.max(FloatVector.fromArray(F, x, i).abs());
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < x.length; i++) {
            r = Math.max(r, Math.abs(x[i]));
        }
        return (int) r;
    }

    /** @return {@code code - zero} as floats, [M, K] (tight loops per row and group) */
    static float[] centered(Quantized a) {
        int k = a.k();
        int ga = Math.max(1, a.groupSize());
        byte[] c = a.codes();
        boolean unsigned = a.unsigned();
        float[] x = new float[a.rows() * k];
        for (int r = 0; r < a.rows(); r++) {
            for (int g0 = 0; g0 < k; g0 += ga) {
                int end = Math.min(k, g0 + ga);
                int z = a.zero(r, g0 / ga);
                int o = r * k;
                if (unsigned) {
                    for (int t = o + g0; t < o + end; t++) {
                        x[t] = (c[t] & 0xFF) - z;
                    }
                } else {
                    for (int t = o + g0; t < o + end; t++) {
                        x[t] = c[t] - z;
                    }
                }
            }
        }
        return x;
    }

    /** Writes the BW codes of one k row of a block as floats (centered; dequantized if asked). */
    static void unpackRow(PackedWeight w, int b, int t, int wg, float[] dst, int off, boolean dequantize) {
        int row = (b * w.k + t) * w.rowBytes;
        int po = (b * w.wGroups + wg) * w.bw;
        if (w.nf4()) {
            for (int c = 0; c < 3; c++) {
                ByteVector bv = ByteVector.fromArray(B, w.codes, row + c * L);
                nf4Store(bv.and((byte) 0x0F), w, po, off, 2 * c * L, dst);
                nf4Store(bv.lanewise(VectorOperators.LSHR, 4), w, po, off, (2 * c + 1) * L, dst);
            }
            return;
        }
        if (w.four) {
            for (int c = 0; c < 3; c++) {
                ByteVector bv = ByteVector.fromArray(B, w.codes, row + c * L);
                ByteVector lo = w.unsigned ? bv.and((byte) 0x0F) : bv.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, 4);
                ByteVector hi = bv.lanewise(w.unsigned ? VectorOperators.LSHR : VectorOperators.ASHR, 4);
                store(toFloat(lo), w, po, off, 2 * c * L, dst, dequantize);
                store(toFloat(hi), w, po, off, (2 * c + 1) * L, dst, dequantize);
            }
        } else {
            for (int v = 0; v < 6; v++) {
                ByteVector bv = ByteVector.fromArray(B, w.codes, row + v * L);
                FloatVector f = w.unsigned
                        ? (FloatVector) ((IntVector) bv.convertShape(VectorOperators.B2I, I, 0)).and(0xFF)
                                .convert(VectorOperators.I2F, 0)
                        : toFloat(bv);
                store(f, w, po, off, v * L, dst, dequantize);
            }
        }
    }

    /** NF4 codes → code-book values by a lane permute of the 16-entry table, × scale. */
    private static void nf4Store(ByteVector codes, PackedWeight w, int po, int off, int j, float[] dst) {
        IntVector idx = (IntVector) codes.convertShape(VectorOperators.B2I, I, 0);
        VectorShuffle<Float> s = idx.toShuffle().cast(F);
        FloatVector v = L >= 16 ? NF4_LO.rearrange(s) : NF4_LO.rearrange(s, NF4_HI);
        v.mul(FloatVector.fromArray(F, w.scales, po + j)).intoArray(dst, off + j);
    }

    /** Signed 4-bit codes in the low nibbles, as floats. */
    private static FloatVector lo4(ByteVector bv) {
        return toFloat(bv.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, 4));
    }

    /** Signed 4-bit codes in the high nibbles, as floats. */
    private static FloatVector hi4(ByteVector bv) {
        return toFloat(bv.lanewise(VectorOperators.ASHR, 4));
    }

    private static FloatVector toFloat(ByteVector bv) {
        return (FloatVector) bv.convertShape(VectorOperators.B2F, F, 0);
    }

    private static void store(FloatVector f, PackedWeight w, int po, int off, int j, float[] dst, boolean dequantize) {
        if (w.zeros != null) {
            f = f.sub(FloatVector.fromArray(F, w.zeros, po + j));
        }
        if (dequantize) {
            f = f.mul(FloatVector.fromArray(F, w.scales, po + j));
        }
        f.intoArray(dst, off + j);
    }

    /** panel[kk][v·L + i] = w[2vL + i] + 4096 · w[2vL + L + i] (centered codes). */
    static void pairPanel(PackedWeight w, int b, int k0, int kc, int wg, float[] raw, float[] panel) {
        for (int kk = 0; kk < kc; kk++) {
            unpackRow(w, b, k0 + kk, wg, raw, 0, false);
            for (int v = 0; v < 3; v++) {
                FloatVector lo = FloatVector.fromArray(F, raw, 2 * v * L);
                FloatVector hi = FloatVector.fromArray(F, raw, (2 * v + 1) * L);
                hi.mul(4096f).add(lo).intoArray(panel, kk * HALF + v * L);
            }
        }
    }

    /** acc[r][h..h+HALF) += (int) ct[r]. */
    private static void foldPlain(float[] ct, int co, int[] acc, int ar, int mr) {
        for (int r = 0; r < mr; r++) {
            for (int v = 0; v < 3; v++) {
                int ai = ar + r * BW + v * L;
                IntVector s = (IntVector) FloatVector.fromArray(F, ct, co + r * HALF + v * L).convert(VectorOperators.F2I, 0);
                IntVector.fromArray(I, acc, ai).add(s).intoArray(acc, ai);
            }
        }
    }

    /** Decodes the paired sums of one chunk and adds both fields to their channels. */
    private static void foldPair(float[] ct, int[] acc, int ar, int mr) {
        for (int r = 0; r < mr; r++) {
            for (int v = 0; v < 3; v++) {
                FloatVector tv = FloatVector.fromArray(F, ct, r * HALF + v * L);
                FloatVector hi = tv.mul(1f / 4096f).add(MAGIC).sub(MAGIC);
                FloatVector lo = tv.sub(hi.mul(4096f));
                int a0 = ar + r * BW + 2 * v * L;
                int a1 = a0 + L;
                IntVector.fromArray(I, acc, a0).add((IntVector) lo.convert(VectorOperators.F2I, 0)).intoArray(acc, a0);
                IntVector.fromArray(I, acc, a1).add((IntVector) hi.convert(VectorOperators.F2I, 0)).intoArray(acc, a1);
            }
        }
    }

    private static void epilogue(Quantized a, PackedWeight w, int b, int wg, int gi, int m0, int rows, int n0,
            int[] acc, float[] y, int[] accOut, int m) {
        int n = w.n;
        int so = (b * w.wGroups + wg) * w.bw;
        for (int r = 0; r < rows; r++) {
            int row = m0 + r;
            if (accOut != null) {
                int cols = Math.min(BW, n - n0);
                System.arraycopy(acc, r * BW, accOut, (gi * m + row) * n + n0, cols);
            }
            if (y == null) {
                continue;
            }
            float sa = a.scale(row, gi);
            int yo = row * n + n0;
            int j = 0;
            for (; j < BW && n0 + j + L <= n; j += L) {
                FloatVector av = (FloatVector) IntVector.fromArray(I, acc, r * BW + j).convert(VectorOperators.I2F, 0);
                FloatVector t = av.mul(sa).mul(FloatVector.fromArray(F, w.scales, so + j));
                FloatVector.fromArray(F, y, yo + j).add(t).intoArray(y, yo + j);
            }
            for (; j < BW && n0 + j < n; j++) {
                y[yo + j] += ((float) acc[r * BW + j] * sa) * w.scales[so + j];
            }
        }
    }

    /** 4 rows × 3 vectors from zero over kc steps of the panel; results to ct [MR][HALF]. */
    private static void micro(float[] x, int xo0, int xo1, int xo2, int xo3, int kc, float[] p, int po0, int ps,
            float[] ct) {
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
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
        c00.intoArray(ct, 0);
        c01.intoArray(ct, L);
        c02.intoArray(ct, 2 * L);
        c10.intoArray(ct, HALF);
        c11.intoArray(ct, HALF + L);
        c12.intoArray(ct, HALF + 2 * L);
        c20.intoArray(ct, 2 * HALF);
        c21.intoArray(ct, 2 * HALF + L);
        c22.intoArray(ct, 2 * HALF + 2 * L);
        c30.intoArray(ct, 3 * HALF);
        c31.intoArray(ct, 3 * HALF + L);
        c32.intoArray(ct, 3 * HALF + 2 * L);
    }

    /** y [M, N] = x [M, K] · dequant(w)ᵀ with panels dequantized per tile. */
    static void weightOnly(WorkerPool pool, float[] x, int m, PackedWeight w, float[] y) {
        // NF4's table permute gains nothing from the single-row kernel (measured 0.88x): tiled
        weightOnly(pool, x, m, w, y, m == 1 && !w.nf4());
    }

    /** As above; {@code smallM} picks the small-M kernel (timing mains compare both). */
    static void weightOnly(WorkerPool pool, float[] x, int m, PackedWeight w, float[] y, boolean smallM) {
        int k = w.k;
        int n = w.n;
        if (m == 0 || n == 0 || k == 0) {
            return;
        }
        if (smallM) {
            weightOnlyGemv(pool, x, m, w, y);
            return;
        }
        Tiling t = Tiling.of(pool, m, w.blocks);
        pool.forEach(t.tasks(), task -> {
            int b = task % t.blocks();
            int m0 = (task / t.blocks()) * t.rowsPerChunk();
            int m1 = Math.min(m, m0 + t.rowsPerChunk());
            int n0 = b * BW;
            float[] panel = new float[KC * BW];
            float[] tile = new float[MR * HALF];
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                for (int kk = 0; kk < kc; kk++) {
                    int tk = k0 + kk;
                    unpackRow(w, b, tk, w.wGroups == 1 ? 0 : tk / w.wGroupSize, panel, kk * BW, true);
                }
                for (int i = m0; i < m1; i += MR) {
                    int mr = Math.min(MR, m1 - i);
                    for (int h = 0; h < BW; h += HALF) {
                        int nw = Math.min(HALF, n - (n0 + h));
                        if (nw > 0) {
                            FloatGemm.tileStep(x, k, i, mr, k0, kc, panel, h, BW, y, n, n0 + h, nw, tile);
                        }
                    }
                }
            }
        });
    }

    /**
     * Weight-only GEMM for a single row (M = 1): each k row of a block is dequantized into L1 and used
     * at once. Every output is the same FMA chain over k ascending from zero as the tiled path
     * (equal bit for bit), without the k-panel and the duplicated rows of the 4-row micro-kernel.
     */
    private static void weightOnlyGemv(WorkerPool pool, float[] x, int m, PackedWeight w, float[] y) {
        int k = w.k;
        int n = w.n;
        pool.forEach(w.blocks, b -> {
            int n0 = b * BW;
            int nw = Math.min(BW, n - n0);
            float[] raw = new float[BW];
            float[] out = new float[BW];
            for (int i = 0; i < m; i++) {
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = s0;
                FloatVector s2 = s0;
                FloatVector s3 = s0;
                FloatVector s4 = s0;
                FloatVector s5 = s0;
                int xo = i * k;
                int t = 0;
                if (!w.unsigned && w.zeros == null && !w.nf4()) {
                    // signed codes without zero points: decode and scale in registers, no row buffer
                    for (; t < k; t++) {
                        int row = (b * k + t) * w.rowBytes;
                        int po = (b * w.wGroups + (w.wGroups == 1 ? 0 : t / w.wGroupSize)) * w.bw;
                        FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
                        FloatVector c0;
                        FloatVector c1;
                        FloatVector c2;
                        FloatVector c3;
                        FloatVector c4;
                        FloatVector c5;
                        if (w.four) {
                            ByteVector v0 = ByteVector.fromArray(B, w.codes, row);
                            ByteVector v1 = ByteVector.fromArray(B, w.codes, row + L);
                            ByteVector v2 = ByteVector.fromArray(B, w.codes, row + 2 * L);
                            c0 = lo4(v0);
                            c1 = hi4(v0);
                            c2 = lo4(v1);
                            c3 = hi4(v1);
                            c4 = lo4(v2);
                            c5 = hi4(v2);
                        } else {
                            c0 = toFloat(ByteVector.fromArray(B, w.codes, row));
                            c1 = toFloat(ByteVector.fromArray(B, w.codes, row + L));
                            c2 = toFloat(ByteVector.fromArray(B, w.codes, row + 2 * L));
                            c3 = toFloat(ByteVector.fromArray(B, w.codes, row + 3 * L));
                            c4 = toFloat(ByteVector.fromArray(B, w.codes, row + 4 * L));
                            c5 = toFloat(ByteVector.fromArray(B, w.codes, row + 5 * L));
                        }
                        s0 = c0.mul(FloatVector.fromArray(F, w.scales, po)).fma(xa, s0);
                        s1 = c1.mul(FloatVector.fromArray(F, w.scales, po + L)).fma(xa, s1);
                        s2 = c2.mul(FloatVector.fromArray(F, w.scales, po + 2 * L)).fma(xa, s2);
                        s3 = c3.mul(FloatVector.fromArray(F, w.scales, po + 3 * L)).fma(xa, s3);
                        s4 = c4.mul(FloatVector.fromArray(F, w.scales, po + 4 * L)).fma(xa, s4);
                        s5 = c5.mul(FloatVector.fromArray(F, w.scales, po + 5 * L)).fma(xa, s5);
                    }
                }
                for (; t < k; t++) {
                    unpackRow(w, b, t, w.wGroups == 1 ? 0 : t / w.wGroupSize, raw, 0, true);
                    FloatVector xa = FloatVector.broadcast(F, x[xo + t]);
                    s0 = FloatVector.fromArray(F, raw, 0).fma(xa, s0);
                    s1 = FloatVector.fromArray(F, raw, L).fma(xa, s1);
                    s2 = FloatVector.fromArray(F, raw, 2 * L).fma(xa, s2);
                    s3 = FloatVector.fromArray(F, raw, 3 * L).fma(xa, s3);
                    s4 = FloatVector.fromArray(F, raw, 4 * L).fma(xa, s4);
                    s5 = FloatVector.fromArray(F, raw, 5 * L).fma(xa, s5);
                }
                s0.intoArray(out, 0);
                s1.intoArray(out, L);
                s2.intoArray(out, 2 * L);
                s3.intoArray(out, 3 * L);
                s4.intoArray(out, 4 * L);
                s5.intoArray(out, 5 * L);
                System.arraycopy(out, 0, y, i * n + n0, nw);
            }
        });
    }
}
