package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Tensor;
import dev.nibble.api.numerics.Quantizer;
import java.util.Arrays;
import java.util.Random;

/**
 * Timing main (not a test): the small-M integer GEMM on signed 4-bit weights, float-FMA path against
 * the 16-bit path, interleaved rounds, medians; their int32 accumulators must be equal.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.nibble.backend.cpu.Int4GemvTiming [M K N rounds]}.
 */
public final class Int4GemvTiming {
    private Int4GemvTiming() {
    }

    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 3072;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 21;
        Random r = new Random(5);
        float[] xv = new float[m * k];
        float[] wv = new float[n * k];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) r.nextGaussian() * 0.1f;
        }
        boolean dequantize = Boolean.getBoolean("dequantize"); // -Ddequantize=true: time the float output instead
        int group = Integer.getInteger("group", 0); // -Dgroup=64: weights and activations per group of 64
        PackedWeight pw = new PackedWeight(SmallMTiming.toQuantized(Quantizer.quantize(Tensor.ofFloats(wv, n, k),
                group > 0 ? QuantScheme.symmetricGroup(4, group) : QuantScheme.symmetric(4, Granularity.PER_CHANNEL))),
                IntGemm.L);
        try (WorkerPool pool = new WorkerPool(Integer.getInteger("threads", Runtime.getRuntime().availableProcessors()))) {
            for (int abits : new int[] {4, 8}) {
                Quantized qa = SmallMTiming.toQuantized(Quantizer.quantize(Tensor.ofFloats(xv, m, k),
                        group > 0 ? QuantScheme.symmetricGroup(abits, group) : QuantScheme.symmetric(abits, Granularity.PER_TOKEN)));
                int g = group > 0 ? group : k;
                long[][] t = new long[2][rounds];
                int[][] acc = new int[2][m * n * (k / g + (k % g == 0 ? 0 : 1))];
                float[][] y = new float[2][m * n];
                for (int i = -30; i < rounds; i++) {
                    for (int v = 0; v < 2; v++) {
                        long t0 = System.nanoTime();
                        if (dequantize) {
                            java.util.Arrays.fill(y[v], 0f);
                            IntGemm.run(pool, qa, pw, g, y[v], null, true, v == 1);
                        } else {
                            IntGemm.run(pool, qa, pw, g, null, acc[v], true, v == 1);
                        }
                        if (i >= 0) {
                            t[v][i] = System.nanoTime() - t0;
                        }
                    }
                }
                if (!Arrays.equals(acc[0], acc[1]) || !Arrays.equals(y[0], y[1])) {
                    throw new AssertionError("16-bit accumulators differ from the float path");
                }
                double f = RotationTiming.median(t[0]);
                double s = RotationTiming.median(t[1]);
                System.out.printf("W4A%d M=%d K=%d N=%d: float %.3f ms (%.1f GOPS), int16 %.3f ms (%.1f GOPS), %.2fx%n",
                        abits, m, k, n, f, 2e-6 * m * k * n / f, s, 2e-6 * m * k * n / s, f / s);
            }
        }
    }
}
