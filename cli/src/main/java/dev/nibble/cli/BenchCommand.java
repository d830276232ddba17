package dev.nibble.cli;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.UnsupportedCapabilityException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nibble bench}: a quick GEMM throughput table on the selected backend, for machines without
 * Maven or JMH (e.g. a GPU host with only a JRE). Each cell is the median of {@code --repeat} timed
 * calls (System.nanoTime) after {@code --warmup} untimed ones; the JMH benchmarks in bench/ are the
 * reference measurements.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Quick GEMM throughput (GOPS, median of N calls) on the selected backend: f32, and the fused "
                + "W8A8 / W4A4 / W4A16 layers (dynamic activation quantization + integer GEMM + dequantization). "
                + "Each call is timed until the device has finished it (KernelBackend.synchronize); the output stays on the device.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-b", "--backend"}, description = "backend or device id (cpu, cuda:0, opencl:0:0); default: "
            + "-Dnibble.backend, NIBBLE_BACKEND, then automatic")
    String backend;

    @Option(names = {"-m", "--tokens"}, split = ",", description = "token counts M (default: ${DEFAULT-VALUE})",
            defaultValue = "1,64,1024")
    int[] tokens;

    @Option(names = {"-s", "--shapes"}, split = ",", description = "KxN shapes (default: ${DEFAULT-VALUE})",
            defaultValue = "1152x1152,1152x4608,3072x3072,3072x12288")
    String[] shapes;

    @Option(names = {"-i", "--impl"}, split = ",", description = "f32, w8a8, w4a4, w4a4-g64, w4a16-g64 (default: ${DEFAULT-VALUE})",
            defaultValue = "f32,w8a8,w4a4,w4a16-g64")
    String[] impls;

    @Option(names = {"-n", "--repeat"}, description = "timed calls per cell; the median is reported (default: ${DEFAULT-VALUE})",
            defaultValue = "5")
    int repeat;

    @Option(names = {"-w", "--warmup"}, description = "untimed calls per cell first (default: ${DEFAULT-VALUE})",
            defaultValue = "3")
    int warmup;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (repeat < 1 || warmup < 0) {
            throw new dev.nibble.api.InvalidInputException("--repeat must be >= 1 and --warmup >= 0");
        }
        try (KernelBackend b = Backends.open(backend)) {
            out.printf("backend %s (%s), %s %s, %d cores; median of %d calls after %d warm-up%n", b.id(),
                    b.device().name(), System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"),
                    Runtime.getRuntime().availableProcessors(), repeat, warmup);
            out.printf("%-11s %6s %-10s %12s %10s %8s%n", "KxN", "M", "impl", "median ms", "GOPS", "x f32");
            for (String kn : shapes) {
                int[] dims = Arrays.stream(kn.toLowerCase(Locale.ROOT).split("x")).mapToInt(Integer::parseInt).toArray();
                if (dims.length != 2) {
                    throw new dev.nibble.api.InvalidInputException("--shapes: expected KxN, got '" + kn + "'");
                }
                int k = dims[0];
                int n = dims[1];
                Tensor w = random((long) n * k, 2, 0.05f, n, k);
                for (int m : tokens) {
                    Tensor x = random((long) m * k, 1, 1f, m, k);
                    double f32 = Double.NaN;
                    for (String impl : impls) {
                        double ms;
                        try {
                            ms = measure(b, impl, x, w);
                        } catch (UnsupportedCapabilityException e) {
                            out.printf("%-11s %6d %-10s %s%n", kn, m, impl, "unsupported: " + e.getMessage());
                            continue;
                        }
                        if (impl.equals("f32")) {
                            f32 = ms;
                        }
                        double gops = 2.0 * m * k * (double) n / (ms * 1e6);
                        out.printf(Locale.ROOT, "%-11s %6d %-10s %12.3f %10.1f %8s%n", kn, m, impl, ms, gops,
                                Double.isNaN(f32) || impl.equals("f32") ? "" : String.format(Locale.ROOT, "%.2f", f32 / ms));
                        out.flush();
                    }
                }
            }
        }
        return 0;
    }

    private double measure(KernelBackend b, String impl, Tensor xHost, Tensor wHost) {
        try (DeviceTensor x = b.upload(xHost)) {
            return switch (impl) {
                case "f32" -> {
                    try (DeviceTensor w = b.upload(wHost)) {
                        yield median(b, () -> b.gemm(x, w));
                    }
                }
                case "w8a8" -> fused(b, x, wHost, QuantScheme.symmetric(8, Granularity.PER_CHANNEL),
                        QuantScheme.symmetric(8, Granularity.PER_TOKEN));
                case "w4a4" -> fused(b, x, wHost, QuantScheme.symmetric(4, Granularity.PER_CHANNEL),
                        QuantScheme.symmetric(4, Granularity.PER_TOKEN));
                case "w4a4-g64" -> fused(b, x, wHost, QuantScheme.symmetricGroup(4, 64), QuantScheme.symmetricGroup(4, 64));
                case "w4a16-g64" -> {
                    try (DeviceQuantized w = quantizeOnDevice(b, wHost, QuantScheme.symmetricGroup(4, 64))) {
                        yield median(b, () -> b.gemmWeightOnly(x, w));
                    }
                }
                default -> throw new dev.nibble.api.InvalidInputException("--impl: unknown '" + impl
                        + "'; known: f32, w8a8, w4a4, w4a4-g64, w4a16-g64");
            };
        }
    }

    private double fused(KernelBackend b, DeviceTensor x, Tensor wHost, QuantScheme ws, QuantScheme as) {
        QuantizedTensor wq;
        try (DeviceQuantized w = quantizeOnDevice(b, wHost, ws)) {
            wq = b.download(w);
        }
        QuantizedLinear plan = QuantizedLinear.builder("bench", Math.toIntExact(wHost.shape().cols()),
                Math.toIntExact(wHost.shape().rows())).weight(wq).activation(new ActivationQuant.Dynamic(as)).build();
        try (PreparedLinear layer = b.prepare(plan)) {
            return median(b, () -> layer.forward(x));
        }
    }

    private static DeviceQuantized quantizeOnDevice(KernelBackend b, Tensor wHost, QuantScheme scheme) {
        try (DeviceTensor w = b.upload(wHost)) {
            return b.quantize(w, scheme);
        }
    }

    /**
     * Runs the call warmup + repeat times. A call is timed until the backend says its work has finished
     * ({@link KernelBackend#synchronize()}: GPU backends return as soon as the work is queued); the
     * output stays on the device, as it would between two layers.
     */
    private double median(KernelBackend b, Supplier<DeviceTensor> call) {
        for (int i = 0; i < warmup; i++) {
            try (DeviceTensor y = call.get()) {
                b.synchronize();
            }
        }
        double[] ms = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            try (DeviceTensor y = call.get()) {
                b.synchronize();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Arrays.sort(ms);
        return repeat % 2 == 1 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
    }

    private static Tensor random(long count, long seed, float amplitude, long rows, long cols) {
        float[] v = new float[Math.toIntExact(count)];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1) * amplitude;
        }
        return Tensor.ofFloats(v, rows, cols);
    }
}
