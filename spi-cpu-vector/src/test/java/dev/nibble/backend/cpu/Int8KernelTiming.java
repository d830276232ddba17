package dev.nibble.backend.cpu;

import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Timing main for the W8A8 inner kernel (not a test): the backend's exact float-FMA formulation
 * against two ShortVector formulations on the same int8 codes, one thread, interleaved rounds,
 * median. Every variant's int32 result is checked against a scalar reference.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp spi-cpu-vector/target/test-classes
 * dev.nibble.backend.cpu.Int8KernelTiming [M K rounds]}.
 */
public final class Int8KernelTiming {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED;

    private Int8KernelTiming() {
    }

    /** @param args M K rounds (default 64 1024 9) */
    public static void main(String[] args) {
        if (args.length == 0 || !args[0].equals("--no-warmup")) {
            for (int i = 0; i < 400; i++) { // compile every kernel as a whole method, not only by OSR
                run(4, 64, 0, false);
            }
        }
        String[] rest = args.length > 0 && args[0].equals("--no-warmup") ? Arrays.copyOfRange(args, 1, args.length) : args;
        run(rest.length > 0 ? Integer.parseInt(rest[0]) : 64, rest.length > 1 ? Integer.parseInt(rest[1]) : 1024,
                rest.length > 2 ? Integer.parseInt(rest[2]) : 9, true);
    }

    static void run(int m, int k, int rounds, boolean print) {
        int n = 6 * L * 8; // a multiple of every variant's column block
        Random r = new Random(1);
        byte[] a = new byte[m * k];
        byte[] w = new byte[n * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) (r.nextInt(255) - 127);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) (r.nextInt(255) - 127);
        }
        int[] want = reference(a, w, m, n, k);
        // panels in each variant's layout, built once (the backend builds its panel per tile)
        float[] xf = new float[m * k];
        for (int i = 0; i < xf.length; i++) {
            xf[i] = a[i];
        }
        float[] wf = new float[k * n];
        short[] ws = new short[k * n];
        short[] wp = new short[k * n];
        for (int c = 0; c < n; c++) {
            for (int t = 0; t < k; t++) {
                wf[t * n + c] = w[c * k + t];
                ws[t * n + c] = w[c * k + t];
                wp[(t / 2) * 2 * n + 2 * c + (t & 1)] = w[c * k + t];
            }
        }
        short[] xs = new short[m * k];
        int[] xp = new int[m * k / 2];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = a[i];
        }
        for (int i = 0; i < xp.length; i++) {
            xp[i] = (xs[2 * i + 1] << 16) | (xs[2 * i] & 0xFFFF);
        }
        int[] xu = new int[m * k / 2];
        short[] wu = new short[k * n];
        for (int i = 0; i < xu.length; i++) {
            xu[i] = ((xs[2 * i + 1] + 128) << 16) | (xs[2 * i] + 128);
        }
        for (int i = 0; i < wu.length; i++) {
            wu[i] = (short) (wp[i] + 128);
        }
        int[] rowSum = new int[m];
        int[] colSum = new int[n];
        for (int i = 0; i < m; i++) {
            for (int t = 0; t < k; t++) {
                rowSum[i] += a[i * k + t];
            }
        }
        for (int c = 0; c < n; c++) {
            for (int t = 0; t < k; t++) {
                colSum[c] += w[c * k + t];
            }
        }
        String[] names = {"float FMA (backend)", "short mul + S2I widen", "short mul, k-pair shift-add",
            "short mul, k-pair offset (u16)"};
        int variants = names.length;
        long[][] ns = new long[variants][rounds];
        int[] out = new int[m * n];
        int warm = print ? 3 : 1;
        for (int round = 0; round < rounds + warm; round++) {
            for (int v = 0; v < variants; v++) {
                Arrays.fill(out, 0);
                long t0 = System.nanoTime();
                switch (v) {
                    case 0 -> floatFma(xf, wf, m, n, k, out);
                    case 1 -> shortWiden(xs, ws, m, n, k, out);
                    case 2 -> shortPairs(xp, wp, m, n, k, out);
                    default -> offsetPairs(xu, wu, rowSum, colSum, m, n, k, out);
                }
                long dt = System.nanoTime() - t0;
                if (!Arrays.equals(out, want)) {
                    throw new AssertionError(names[v] + " is not exact");
                }
                if (round >= warm) {
                    ns[v][round - warm] = dt;
                }
            }
        }
        if (!print) {
            return;
        }
        System.out.printf("M=%d K=%d N=%d, %s, one thread, %d rounds after 3 warm-up, interleaved%n", m, k, n, F, rounds);
        double base = median(ns[0]);
        for (int v = 0; v < variants; v++) {
            double med = median(ns[v]);
            System.out.printf("%-30s median %8.2f ms  %6.1f GOP/s  %.2f× the float kernel%n", names[v], med / 1e6,
                    2.0 * m * n * k / med, base / med);
        }
    }

    static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    static int[] reference(byte[] a, byte[] w, int m, int n, int k) {
        int[] y = new int[m * n];
        for (int i = 0; i < m; i++) {
            for (int c = 0; c < n; c++) {
                int s = 0;
                for (int t = 0; t < k; t++) {
                    s += a[i * k + t] * w[c * k + t];
                }
                y[i * n + c] = s;
            }
        }
        return y;
    }

    /** The backend's formulation: 4 rows × 3 float vectors, exact while |sum| < 2^24 (K·127² here). */
    static void floatFma(float[] x, float[] p, int m, int n, int k, int[] y) {
        for (int c0 = 0; c0 < n; c0 += 3 * L) {
            for (int i = 0; i < m; i += 4) {
                FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
                FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
                for (int t = 0; t < k; t++) {
                    int po = t * n + c0;
                    FloatVector b0 = FloatVector.fromArray(F, p, po);
                    FloatVector b1 = FloatVector.fromArray(F, p, po + L);
                    FloatVector b2 = FloatVector.fromArray(F, p, po + 2 * L);
                    FloatVector av = FloatVector.broadcast(F, x[i * k + t]);
                    c00 = b0.fma(av, c00);
                    c01 = b1.fma(av, c01);
                    c02 = b2.fma(av, c02);
                    av = FloatVector.broadcast(F, x[(i + 1) * k + t]);
                    c10 = b0.fma(av, c10);
                    c11 = b1.fma(av, c11);
                    c12 = b2.fma(av, c12);
                    av = FloatVector.broadcast(F, x[(i + 2) * k + t]);
                    c20 = b0.fma(av, c20);
                    c21 = b1.fma(av, c21);
                    c22 = b2.fma(av, c22);
                    av = FloatVector.broadcast(F, x[(i + 3) * k + t]);
                    c30 = b0.fma(av, c30);
                    c31 = b1.fma(av, c31);
                    c32 = b2.fma(av, c32);
                }
                int o = i * n + c0;
                toInt(c00, y, o);
                toInt(c01, y, o + L);
                toInt(c02, y, o + 2 * L);
                toInt(c10, y, o + n);
                toInt(c11, y, o + n + L);
                toInt(c12, y, o + n + 2 * L);
                toInt(c20, y, o + 2 * n);
                toInt(c21, y, o + 2 * n + L);
                toInt(c22, y, o + 2 * n + 2 * L);
                toInt(c30, y, o + 3 * n);
                toInt(c31, y, o + 3 * n + L);
                toInt(c32, y, o + 3 * n + 2 * L);
            }
        }
    }

    /** 4 rows × 2L channels: int16 products (|a·w| ≤ 2^14 fit), each half widened to int32 and added. */
    static void shortWiden(short[] x, short[] p, int m, int n, int k, int[] y) {
        for (int c0 = 0; c0 < n; c0 += 2 * L) {
            for (int i = 0; i < m; i += 4) {
                IntVector z = IntVector.zero(I);
                IntVector a0 = z, a1 = z, b0 = z, b1 = z, d0 = z, d1 = z, e0 = z, e1 = z;
                for (int t = 0; t < k; t++) {
                    ShortVector wv = ShortVector.fromArray(S, p, t * n + c0);
                    ShortVector q = wv.mul(x[i * k + t]);
                    a0 = a0.add((IntVector) q.convertShape(VectorOperators.S2I, I, 0));
                    a1 = a1.add((IntVector) q.convertShape(VectorOperators.S2I, I, 1));
                    q = wv.mul(x[(i + 1) * k + t]);
                    b0 = b0.add((IntVector) q.convertShape(VectorOperators.S2I, I, 0));
                    b1 = b1.add((IntVector) q.convertShape(VectorOperators.S2I, I, 1));
                    q = wv.mul(x[(i + 2) * k + t]);
                    d0 = d0.add((IntVector) q.convertShape(VectorOperators.S2I, I, 0));
                    d1 = d1.add((IntVector) q.convertShape(VectorOperators.S2I, I, 1));
                    q = wv.mul(x[(i + 3) * k + t]);
                    e0 = e0.add((IntVector) q.convertShape(VectorOperators.S2I, I, 0));
                    e1 = e1.add((IntVector) q.convertShape(VectorOperators.S2I, I, 1));
                }
                int o = i * n + c0;
                a0.intoArray(y, o);
                a1.intoArray(y, o + L);
                b0.intoArray(y, o + n);
                b1.intoArray(y, o + n + L);
                d0.intoArray(y, o + 2 * n);
                d1.intoArray(y, o + 2 * n + L);
                e0.intoArray(y, o + 3 * n);
                e1.intoArray(y, o + 3 * n + L);
            }
        }
    }

    /**
     * 4 rows × 2L channels, k in pairs: lanes hold (w[c,k], w[c,k+1]) so one int16 multiply by the
     * broadcast pair (a[k], a[k+1]) gives both products of a channel in one int32 lane; the two
     * halves are split by shifts and added (pmaddwd by hand).
     */
    static void shortPairs(int[] xp, short[] p, int m, int n, int k, int[] y) {
        int kp = k / 2;
        for (int c0 = 0; c0 < n; c0 += 2 * L) {
            for (int i = 0; i < m; i += 4) {
                IntVector z = IntVector.zero(I);
                IntVector a0 = z, a1 = z, b0 = z, b1 = z, d0 = z, d1 = z, e0 = z, e1 = z;
                for (int t = 0; t < kp; t++) {
                    int po = t * 2 * n + 2 * c0;
                    ShortVector w0 = ShortVector.fromArray(S, p, po);
                    ShortVector w1 = ShortVector.fromArray(S, p, po + 2 * L);
                    ShortVector av = pair(xp[i * kp + t]);
                    a0 = a0.add(pairSum(w0.mul(av)));
                    a1 = a1.add(pairSum(w1.mul(av)));
                    av = pair(xp[(i + 1) * kp + t]);
                    b0 = b0.add(pairSum(w0.mul(av)));
                    b1 = b1.add(pairSum(w1.mul(av)));
                    av = pair(xp[(i + 2) * kp + t]);
                    d0 = d0.add(pairSum(w0.mul(av)));
                    d1 = d1.add(pairSum(w1.mul(av)));
                    av = pair(xp[(i + 3) * kp + t]);
                    e0 = e0.add(pairSum(w0.mul(av)));
                    e1 = e1.add(pairSum(w1.mul(av)));
                }
                int o = i * n + c0;
                a0.intoArray(y, o);
                a1.intoArray(y, o + L);
                b0.intoArray(y, o + n);
                b1.intoArray(y, o + n + L);
                d0.intoArray(y, o + 2 * n);
                d1.intoArray(y, o + 2 * n + L);
                e0.intoArray(y, o + 3 * n);
                e1.intoArray(y, o + 3 * n + L);
            }
        }
    }

    /**
     * As {@link #shortPairs} on codes offset by +128 (0..255), so each int16 product is an exact
     * unsigned value below 2^16: per step the raw int32 lanes (hi·2^16 + lo) and their high halves are
     * summed; lo-sum = raw − 2^16·hi-sum. The offset is removed at the end with row and column sums:
     * Σ a·w = Σ a'·w' − 128·Σa − 128·Σw − 16384·K.
     */
    static void offsetPairs(int[] xu, short[] p, int[] rowSum, int[] colSum, int m, int n, int k, int[] y) {
        int kp = k / 2;
        for (int c0 = 0; c0 < n; c0 += 2 * L) {
            for (int i = 0; i < m; i += 4) {
                IntVector z = IntVector.zero(I);
                IntVector r0 = z, r1 = z, h0 = z, h1 = z, s0 = z, s1 = z, g0 = z, g1 = z;
                IntVector t0 = z, t1 = z, j0 = z, j1 = z, u0 = z, u1 = z, q0 = z, q1 = z;
                for (int t = 0; t < kp; t++) {
                    int po = t * 2 * n + 2 * c0;
                    ShortVector w0 = ShortVector.fromArray(S, p, po);
                    ShortVector w1 = ShortVector.fromArray(S, p, po + 2 * L);
                    ShortVector av = pair(xu[i * kp + t]);
                    IntVector v0 = w0.mul(av).reinterpretAsInts();
                    IntVector v1 = w1.mul(av).reinterpretAsInts();
                    r0 = r0.add(v0);
                    h0 = h0.add(v0.lanewise(VectorOperators.LSHR, 16));
                    r1 = r1.add(v1);
                    h1 = h1.add(v1.lanewise(VectorOperators.LSHR, 16));
                    av = pair(xu[(i + 1) * kp + t]);
                    v0 = w0.mul(av).reinterpretAsInts();
                    v1 = w1.mul(av).reinterpretAsInts();
                    s0 = s0.add(v0);
                    g0 = g0.add(v0.lanewise(VectorOperators.LSHR, 16));
                    s1 = s1.add(v1);
                    g1 = g1.add(v1.lanewise(VectorOperators.LSHR, 16));
                    av = pair(xu[(i + 2) * kp + t]);
                    v0 = w0.mul(av).reinterpretAsInts();
                    v1 = w1.mul(av).reinterpretAsInts();
                    t0 = t0.add(v0);
                    j0 = j0.add(v0.lanewise(VectorOperators.LSHR, 16));
                    t1 = t1.add(v1);
                    j1 = j1.add(v1.lanewise(VectorOperators.LSHR, 16));
                    av = pair(xu[(i + 3) * kp + t]);
                    v0 = w0.mul(av).reinterpretAsInts();
                    v1 = w1.mul(av).reinterpretAsInts();
                    u0 = u0.add(v0);
                    q0 = q0.add(v0.lanewise(VectorOperators.LSHR, 16));
                    u1 = u1.add(v1);
                    q1 = q1.add(v1.lanewise(VectorOperators.LSHR, 16));
                }
                int o = i * n + c0;
                finish(r0, h0, y, o, rowSum[i], colSum, c0, k);
                finish(r1, h1, y, o + L, rowSum[i], colSum, c0 + L, k);
                finish(s0, g0, y, o + n, rowSum[i + 1], colSum, c0, k);
                finish(s1, g1, y, o + n + L, rowSum[i + 1], colSum, c0 + L, k);
                finish(t0, j0, y, o + 2 * n, rowSum[i + 2], colSum, c0, k);
                finish(t1, j1, y, o + 2 * n + L, rowSum[i + 2], colSum, c0 + L, k);
                finish(u0, q0, y, o + 3 * n, rowSum[i + 3], colSum, c0, k);
                finish(u1, q1, y, o + 3 * n + L, rowSum[i + 3], colSum, c0 + L, k);
            }
        }
    }

    /** lo + hi − offsets: raw − 2^16·hi is the low-half sum (exact mod 2^32 for K < 2^16). */
    private static void finish(IntVector raw, IntVector hi, int[] y, int o, int rowSum, int[] colSum, int c, int k) {
        IntVector lo = raw.sub(hi.lanewise(VectorOperators.LSHL, 16));
        IntVector cs = IntVector.fromArray(I, colSum, c).mul(128);
        lo.add(hi).sub(cs).sub(128 * rowSum + 16384 * k).intoArray(y, o);
    }

    private static void toInt(FloatVector v, int[] y, int o) {
        ((IntVector) v.convert(VectorOperators.F2I, 0)).intoArray(y, o);
    }



    /** (lo, hi, lo, hi, ...) from a packed pair. */
    private static ShortVector pair(int packed) {
        return IntVector.broadcast(I, packed).reinterpretAsShorts();
    }

    private static IntVector pairSum(ShortVector products) {
        IntVector v = products.reinterpretAsInts();
        return v.lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
    }
}
