package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Tensor;
import dev.nibble.api.numerics.Quantizer;
import java.util.Arrays;
import java.util.Random;

/**
 * Timing main (not a test): W8A8 GEMM by plain Java loops over pre-widened short[] codes with int
 * accumulation, left to C2's auto-vectorizer (MulAddS2I pattern, JDK-8214751), against the
 * backend's exact float-FMA kernel on the same codes; one thread, interleaved rounds, medians. The
 * integer results of both must be equal.
 *
 * <p>Run: {@code java -XX:ActiveProcessorCount=1 --add-modules jdk.incubator.vector -cp ...
 * dev.nibble.backend.cpu.ShortAutoVecTiming [M K N rounds]}.
 */
public final class ShortAutoVecTiming {
    private ShortAutoVecTiming() {
    }

    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 64;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 768;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 7;
        Random r = new Random(1);
        float[] xv = new float[m * k];
        float[] wv = new float[n * k];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) r.nextGaussian();
        }
        Quantized qa = SmallMTiming.toQuantized(Quantizer.quantize(Tensor.ofFloats(xv, m, k),
                QuantScheme.symmetric(8, Granularity.PER_TOKEN)));
        Quantized qw = SmallMTiming.toQuantized(Quantizer.quantize(Tensor.ofFloats(wv, n, k),
                QuantScheme.symmetric(8, Granularity.PER_CHANNEL)));
        PackedWeight pw = new PackedWeight(qw, IntGemm.L);
        short[] xs = widen(qa.codes());
        short[] ws = widen(qw.codes());
        try (WorkerPool pool = new WorkerPool(1)) {
            long[][] t = new long[3][rounds];
            int[][] acc = new int[3][m * n];
            for (int i = -5; i < rounds; i++) {
                long t0 = System.nanoTime();
                IntGemm.run(pool, qa, pw, k, null, acc[0], false);
                long t1 = System.nanoTime();
                autoVec(xs, ws, m, n, k, acc[1], false);
                long t2 = System.nanoTime();
                autoVec(xs, ws, m, n, k, acc[2], true);
                long t3 = System.nanoTime();
                if (i >= 0) {
                    t[0][i] = t1 - t0;
                    t[1][i] = t2 - t1;
                    t[2][i] = t3 - t2;
                }
            }
            if (!Arrays.equals(acc[0], acc[1]) || !Arrays.equals(acc[0], acc[2])) {
                throw new AssertionError("auto-vectorized accumulators differ");
            }
            String[] names = {"float-FMA (backend)", "short dot s+=a*b", "short dot pairs (MulAddS2I)"};
            for (int v = 0; v < 3; v++) {
                double ms = RotationTiming.median(t[v]);
                System.out.printf("%-28s M=%d K=%d N=%d, 1 thread: %.2f ms, %.1f GOPS%n", names[v], m, k, n, ms,
                        2e-6 * m * n * k / ms);
            }
        }
    }

    static short[] widen(byte[] b) {
        short[] s = new short[b.length];
        for (int i = 0; i < b.length; i++) {
            s[i] = b[i];
        }
        return s;
    }

    /** acc[i][c] = Σ_t x[i][t]·w[c][t] in int, tiles of 64 columns so w stays in L2. */
    static void autoVec(short[] x, short[] w, int m, int n, int k, int[] acc, boolean pairs) {
        for (int c0 = 0; c0 < n; c0 += 64) {
            for (int i = 0; i < m; i++) {
                for (int c = c0; c < Math.min(n, c0 + 64); c++) {
                    acc[i * n + c] = pairs ? dotPairs(x, i * k, w, c * k, k) : dot(x, i * k, w, c * k, k);
                }
            }
        }
    }

    static int dot(short[] x, int xo, short[] w, int wo, int k) {
        int s = 0;
        for (int t = 0; t < k; t++) {
            s += x[xo + t] * w[wo + t];
        }
        return s;
    }

    static int dotPairs(short[] x, int xo, short[] w, int wo, int k) {
        int s = 0;
        int t = 0;
        for (; t + 1 < k; t += 2) {
            s += x[xo + t] * w[wo + t] + x[xo + t + 1] * w[wo + t + 1];
        }
        for (; t < k; t++) {
            s += x[xo + t] * w[wo + t];
        }
        return s;
    }
}
