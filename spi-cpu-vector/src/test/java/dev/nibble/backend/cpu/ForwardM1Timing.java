package dev.nibble.backend.cpu;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Quantizer;
import java.util.Random;

/**
 * Timing main (not a test): where one M = 1 W4A4 {@code PreparedLinear.forward} spends its time:
 * the whole call, activation quantization alone, the integer GEMV alone on 2 threads and on the
 * caller thread, and an empty hand-off to the pool. Medians of interleaved rounds, microseconds.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.nibble.backend.cpu.ForwardM1Timing [K N rounds]}.
 */
public final class ForwardM1Timing {
    private ForwardM1Timing() {
    }

    public static void main(String[] args) {
        int k = args.length > 0 ? Integer.parseInt(args[0]) : 1152;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 1152;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2001;
        Random r = new Random(5);
        float[] xv = Fixtures.random(r, k, 1f);
        float[] wv = Fixtures.random(r, n * k, 0.1f);
        QuantScheme a4 = QuantScheme.symmetric(4, Granularity.PER_TOKEN);
        QuantizedLinear plan = QuantizedLinear.builder("t", k, n)
                .weight(Quantizer.quantize(Tensor.ofFloats(wv, n, k), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(a4)).build();
        try (KernelBackend backend = Fixtures.open("vector");
                WorkerPool two = new WorkerPool(2);
                WorkerPool one = new WorkerPool(1)) {
            CpuKernelBackend cb = (CpuKernelBackend) backend;
            PreparedLinear layer = backend.prepare(plan);
            DeviceTensor x = backend.upload(Tensor.ofFloats(xv, 1, k));
            VectorKernels kn = (VectorKernels) cb.kernels();
            PackedWeight pw = new PackedWeight(SmallMTiming.toQuantized(plan.weight()), IntGemm.L);
            Quantized qa = kn.quantize(xv, 1, k, a4);
            String[] names = {"forward", "quantize", "gemv 2 threads", "gemv caller only", "empty forEach(8)", "new float[n]"};
            long[][] t = new long[names.length][rounds];
            long sink = 0;
            for (int i = -2000; i < rounds; i++) {
                for (int v = 0; v < names.length; v++) {
                    long t0 = System.nanoTime();
                    switch (v) {
                        case 0 -> {
                            try (DeviceTensor y = layer.forward(x)) {
                                sink += y.shape().hashCode();
                            }
                        }
                        case 1 -> sink += kn.quantize(xv, 1, k, a4).codes().length;
                        case 2 -> {
                            float[] y = new float[n];
                            IntGemm.run(two, qa, pw, k, y, null);
                            sink += (long) y[0];
                        }
                        case 3 -> {
                            float[] y = new float[n];
                            IntGemm.run(one, qa, pw, k, y, null);
                            sink += (long) y[0];
                        }
                        case 4 -> two.forEach(8, b -> { });
                        default -> sink += new float[n].length;
                    }
                    if (i >= 0) {
                        t[v][i] = System.nanoTime() - t0;
                    }
                }
            }
            for (int v = 0; v < names.length; v++) {
                double us = RotationTiming.median(t[v]) * 1000;
                System.out.printf("K=%d N=%d %-18s %8.1f us%n", k, n, names[v], us);
            }
            System.out.println("(sink " + (sink & 1) + ")");
        }
    }
}
