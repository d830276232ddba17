package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.numerics.Quantizer;
import java.util.Arrays;
import java.util.Random;

/**
 * Timing main for small-M GEMMs on prepared weights (not a test): the tiled kernel against the
 * small-M kernel on the same packed weight, interleaved rounds, medians; results must be equal.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.nibble.backend.cpu.SmallMTiming [M K N rounds]}.
 */
public final class SmallMTiming {
    private SmallMTiming() {
    }

    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 3072;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        Random r = new Random(3);
        float[] xv = new float[m * k];
        float[] wv = new float[n * k];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) r.nextGaussian() * 0.1f;
        }
        Tensor x = Tensor.ofFloats(xv, m, k);
        Tensor w = Tensor.ofFloats(wv, n, k);
        try (WorkerPool pool = new WorkerPool(Runtime.getRuntime().availableProcessors())) {
            // F32 gemm on an unprepared weight: pack + tiled (before) against row dot products
            long[][] tf = new long[2][rounds];
            float[][] yf = new float[2][m * n];
            for (int i = -15; i < rounds; i++) {
                for (int v = 0; v < 2; v++) {
                    Arrays.fill(yf[v], 0f);
                    long t0 = System.nanoTime();
                    if (v == 0) {
                        FloatGemm.runPacked(pool, xv, m, k, FloatGemm.pack(wv, n, k), n, yf[v]);
                    } else {
                        FloatGemm.rowsDot(pool, xv, m, k, wv, n, yf[v]);
                    }
                    if (i >= 0) {
                        tf[v][i] = System.nanoTime() - t0;
                    }
                }
            }
            double fo = RotationTiming.median(tf[0]);
            double fn = RotationTiming.median(tf[1]);
            System.out.printf("%-10s M=%d K=%d N=%d: pack+tiled %.3f ms (%.1f GOPS), row dots %.3f ms (%.1f GOPS), %.2fx%n",
                    "f32 gemm", m, k, n, fo, 2e-6 * m * k * n / fo, fn, 2e-6 * m * k * n / fn, fo / fn);
            String[] names = {"w8a8", "w4a4", "w4a16-g64", "nf4-g64"};
            for (String name : names) {
                QuantScheme ws = switch (name) {
                    case "w8a8" -> QuantScheme.symmetric(8, Granularity.PER_CHANNEL);
                    case "w4a4" -> QuantScheme.symmetric(4, Granularity.PER_CHANNEL);
                    case "w4a16-g64" -> QuantScheme.symmetricGroup(4, 64);
                    default -> QuantScheme.nf4(64);
                };
                PackedWeight pw = new PackedWeight(toQuantized(Quantizer.quantize(w, ws)), IntGemm.L);
                Quantized qa = name.startsWith("w8") || name.equals("w4a4")
                        ? toQuantized(Quantizer.quantize(x, QuantScheme.symmetric(ws.bits(), Granularity.PER_TOKEN)))
                        : null;
                long[][] t = new long[2][rounds];
                float[][] y = new float[2][m * n];
                for (int i = -15; i < rounds; i++) {
                    for (int v = 0; v < 2; v++) {
                        Arrays.fill(y[v], 0f);
                        long t0 = System.nanoTime();
                        if (qa != null) {
                            IntGemm.run(pool, qa, pw, k, y[v], null, v == 1);
                        } else {
                            IntGemm.weightOnly(pool, xv, m, pw, y[v], v == 1);
                        }
                        if (i >= 0) {
                            t[v][i] = System.nanoTime() - t0;
                        }
                    }
                }
                if (!Arrays.equals(y[0], y[1])) {
                    throw new AssertionError(name + ": small-M result differs from the tiled kernel");
                }
                double old = RotationTiming.median(t[0]);
                double now = RotationTiming.median(t[1]);
                System.out.printf("%-10s M=%d K=%d N=%d: tiled %.3f ms (%.1f GOPS), small-M %.3f ms (%.1f GOPS), %.2fx%n",
                        name, m, k, n, old, 2e-6 * m * k * n / old, now, 2e-6 * m * k * n / now, old / now);
            }
        }
    }

    static Quantized toQuantized(QuantizedTensor q) {
        int rows = Math.toIntExact(q.shape().rows());
        int cols = Math.toIntExact(q.shape().cols());
        byte[] raw = q.codes().toByteArray();
        byte[] codes = q.codes().dtype().isPacked()
                ? CpuKernelBackend.unpackNibbles(raw, rows, cols, q.codes().dtype() == dev.nibble.api.DType.INT4) : raw;
        return new Quantized(codes, q.scales().toFloatArray(), q.zeros() == null ? null : q.zeros().toIntArray(),
                q.scheme(), rows, cols);
    }
}
