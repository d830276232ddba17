package dev.nibble.backend.opencl;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.KernelBackendProvider;
import dev.nibble.api.numerics.Quantizer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/**
 * GEMM throughput of any backend through the public contract (a bench command, not a test):
 * {@code java -cp ... dev.nibble.backend.opencl.GemmBenchmark <deviceId> <M> <N> <K> [samples]}.
 * F32 {@code gemm}, INT8 and INT4 {@code gemmQuantized} (per-token × per-channel, symmetric); each
 * sample enqueues about 0.3 s worth of ops back to back, then downloads the last result (an
 * in-order queue has then finished all of them). Prints the median GOPS (2·M·N·K per op).
 */
public final class GemmBenchmark {
    private GemmBenchmark() {
    }

    public static void main(String[] args) {
        if (args[0].equals("probe")) {
            BackendProbe p = new OpenClBackendProvider().probe();
            System.out.println("available=" + p.available() + " reason=" + p.reason() + " details=" + p.details());
            for (DeviceInfo d : p.devices()) {
                System.out.println(d.id() + " " + d.name() + " " + d.properties());
            }
            return;
        }
        String id = args[0];
        int m = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[2]);
        int k = Integer.parseInt(args[3]);
        int samples = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        try (KernelBackend b = open(id)) {
            System.out.printf("device %s (%s) %s%n", b.id(), b.device().name(), b.device().properties().getOrDefault("integerDotProduct", ""));
            Random r = new Random(1);
            Tensor x = random(r, m, k);
            Tensor w = random(r, n, k);
            try (DeviceTensor dx = b.upload(x); DeviceTensor dw = b.upload(w)) {
                report("F32 ", m, n, k, samples, b, () -> b.gemm(dx, dw));
            }
            for (int bits : new int[] {8, 4}) {
                QuantizedTensor qa = Quantizer.quantize(x, QuantScheme.symmetric(bits, Granularity.PER_TOKEN));
                QuantizedTensor qw = Quantizer.quantize(w, QuantScheme.symmetric(bits, Granularity.PER_CHANNEL));
                try (DeviceQuantized da = b.upload(qa); DeviceQuantized dw = b.upload(qw)) {
                    report("INT" + bits, m, n, k, samples, b, () -> b.gemmQuantized(da, dw));
                }
            }
        }
    }

    private static void report(String what, int m, int n, int k, int samples, KernelBackend b, Supplier<DeviceTensor> op) {
        // warm-up (kernel compilation, first allocation) and an estimate of one op, synchronized
        long t0 = System.nanoTime();
        try (DeviceTensor y = op.get()) {
            b.download(y);
        }
        double one = (System.nanoTime() - t0) / 1e9;
        int reps = (int) Math.max(1, Math.min(1000, 0.3 / one));
        double[] gops = new double[samples];
        for (int s = 0; s < samples; s++) {
            long start = System.nanoTime();
            DeviceTensor last = null;
            for (int i = 0; i < reps; i++) {
                if (last != null) {
                    last.close();
                }
                last = op.get();
            }
            b.download(last); // in order: the last result is complete only when all are
            last.close();
            double sec = (System.nanoTime() - start) / 1e9;
            gops[s] = 2.0 * m * n * k * reps / sec / 1e9;
        }
        Arrays.sort(gops);
        System.out.printf("%s %dx%dx%d median %.1f GOPS (min %.1f, max %.1f; %d samples of %d ops)%n", what, m, n, k,
                gops[samples / 2], gops[0], gops[samples - 1], samples, reps);
    }

    private static KernelBackend open(String id) {
        String provider = id.contains(":") ? id.substring(0, id.indexOf(':')) : id;
        for (KernelBackendProvider p : ServiceLoader.load(KernelBackendProvider.class)) {
            if (p.id().equals(provider)) {
                BackendProbe probe = p.probe();
                for (DeviceInfo d : probe.devices()) {
                    if (d.id().equals(id) || id.equals(provider)) {
                        return p.open(d, Map.of());
                    }
                }
                throw new IllegalArgumentException("no device " + id + ": " + probe.reason() + " " + probe.devices());
            }
        }
        throw new IllegalArgumentException("no provider " + provider);
    }

    private static Tensor random(Random r, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(v, rows, cols);
    }
}
