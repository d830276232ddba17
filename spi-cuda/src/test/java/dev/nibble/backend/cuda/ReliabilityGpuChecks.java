package dev.nibble.backend.cuda;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceMemoryException;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Quantizer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reliability checks that need an NVIDIA GPU, runnable from JUnit (CudaReliabilityTest) or as a main
 * with the jlink'ed runtime: out of memory becomes a typed {@link DeviceMemoryException} and the
 * backend keeps working; 10,000 prepare/forward/close cycles leave cuMemGetInfo where it was; one
 * PreparedLinear from 16 threads is bit-identical to serial; outputs are bit-identical run to run
 * (and their SHA-256 printed, so two JVM runs can be compared). Each check throws AssertionError.
 */
public final class ReliabilityGpuChecks {
    private final KernelBackend b;

    ReliabilityGpuChecks(KernelBackend b) {
        this.b = b;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static Tensor randn(Random r, float scale, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    /** ConvRot W4A4, SVDQuant (group 64, smoothing, rank 32), W8A8, NF4 weight-only. */
    static List<QuantizedLinear> plans(int k, int n) {
        Random r = new Random(11);
        float[] smooth = new float[k];
        for (int i = 0; i < k; i++) {
            smooth[i] = 0.5f + r.nextFloat();
        }
        return List.of(
                QuantizedLinear.builder("convrot-w4a4", k, n).rotation(new Rotation.RegularHadamard(256))
                        .weight(Quantizer.quantize(randn(r, 0.3f, n, new Rotation.RegularHadamard(256).outputDim(k)), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)))
                        .bias(randn(r, 1f, 1, n).reshape(n)).build(),
                QuantizedLinear.builder("svdquant-w4a4-g64-r32", k, n).smooth(Tensor.ofFloats(smooth, k))
                        .weight(Quantizer.quantize(randn(r, 0.3f, n, k), QuantScheme.symmetricGroup(4, 64)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 64)))
                        .lowRank(new LowRank(randn(r, 0.05f, k, 32).to(DType.BF16), randn(r, 0.05f, n, 32).to(DType.BF16)))
                        .build(),
                QuantizedLinear.builder("w8a8", k, n)
                        .weight(Quantizer.quantize(randn(r, 0.3f, n, k), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN))).build(),
                QuantizedLinear.builder("nf4-w4a16", k, n)
                        .weight(Quantizer.quantize(randn(r, 0.3f, n, k), QuantScheme.nf4(64)))
                        .activation(new ActivationQuant.None()).build());
    }

    private byte[] forward(PreparedLinear p, Tensor x) {
        return forward(b, p, x);
    }

    private static byte[] forward(KernelBackend be, PreparedLinear p, Tensor x) {
        try (DeviceTensor dx = be.upload(x); DeviceTensor y = p.forward(dx)) {
            return be.download(y).toByteArray();
        }
    }

    /** Allocates 1 GiB blocks until the device refuses; the error is typed and the backend still works. */
    void outOfMemoryIsTypedAndRecoverable() {
        QuantizedLinear plan = plans(1152, 1152).getFirst();
        Tensor x = randn(new Random(2), 1f, 64, 1152);
        try (PreparedLinear p = b.prepare(plan)) {
            byte[] before = forward(p, x);
            List<DeviceTensor> held = new ArrayList<>();
            DeviceMemoryException oom = null;
            long t0 = System.nanoTime();
            try {
                for (int i = 0; i < 1024 && oom == null; i++) {
                    try {
                        held.add(b.allocate(DType.F32, Shape.of(256L << 20)));
                    } catch (DeviceMemoryException e) {
                        oom = e;
                    }
                }
            } finally {
                held.forEach(DeviceTensor::close);
            }
            check(oom != null, "1024 GiB allocated without an out-of-memory error");
            System.out.printf(Locale.ROOT, "  OOM after %d x 1 GiB (%.1f s): %s: %s%n", held.size(),
                    (System.nanoTime() - t0) / 1e9, oom.getClass().getName(), oom.getMessage());
            ((CudaBackend) b).trimPool();
            byte[] after = forward(p, x);
            check(Arrays.equals(before, after), "the layer's output changed after the out-of-memory error");
            try (DeviceTensor again = b.allocate(DType.F32, Shape.of(256L << 20))) {
                check(again != null, "no tensor");
            }
            System.out.println("  after OOM: same layer output bit for bit, a new 1 GiB allocation succeeds: OK");
        }
    }

    /** One prepared layer from 16 threads at once gives each thread the serial bytes. */
    void sixteenThreadsMatchSerial() throws Exception {
        Random r = new Random(5);
        Tensor[] xs = new Tensor[16];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = randn(r, 1f, 37, 1152);
        }
        for (QuantizedLinear plan : plans(1152, 512)) {
            try (PreparedLinear p = b.prepare(plan)) {
                byte[][] serial = new byte[xs.length][];
                for (int i = 0; i < xs.length; i++) {
                    serial[i] = forward(p, xs[i]);
                }
                CyclicBarrier start = new CyclicBarrier(16);
                ExecutorService pool = Executors.newFixedThreadPool(16);
                int bad = 0;
                try {
                    List<Future<Integer>> fs = new ArrayList<>();
                    for (int t = 0; t < 16; t++) {
                        int id = t;
                        fs.add(pool.submit(() -> {
                            start.await();
                            int wrong = 0;
                            for (int rep = 0; rep < 25; rep++) {
                                int which = (id + rep) % xs.length;
                                if (!Arrays.equals(forward(p, xs[which]), serial[which])) {
                                    wrong++;
                                }
                            }
                            return wrong;
                        }));
                    }
                    for (Future<Integer> f : fs) {
                        bad += f.get();
                    }
                } finally {
                    pool.shutdownNow();
                }
                System.out.printf(Locale.ROOT, "  16 threads x 25 forwards, %-22s: %d of 400 differ from serial%n", plan.name(), bad);
                check(bad == 0, plan.name() + ": " + bad + " concurrent outputs differ from serial");
            }
        }
    }

    /** @return SHA-256 of each plan's output; checks a second backend instance gives the same bytes */
    List<String> deterministicOutputs(KernelBackend second) {
        Tensor x = randn(new Random(9), 1f, 77, 1152);
        List<String> hashes = new ArrayList<>();
        for (QuantizedLinear plan : plans(1152, 512)) {
            byte[] a;
            byte[] a2;
            try (PreparedLinear p = b.prepare(plan)) {
                a = forward(p, x);
                a2 = forward(p, x);
            }
            byte[] c;
            try (PreparedLinear p = second.prepare(plan)) {
                c = forward(second, p, x);
            }
            check(Arrays.equals(a, a2), plan.name() + ": two forwards differ");
            check(Arrays.equals(a, c), plan.name() + ": a second backend instance differs");
            try {
                hashes.add(plan.name() + " " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(a)));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return hashes;
    }

    static KernelBackend open() {
        return GpuChecks.open();
    }

    /** @param args "all" (default, then the cycle count), "hashes" (determinism only) or "probe" (print the probe: run with a broken binding to see its reason) */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("probe")) {
            BackendProbe p = new CudaBackendProvider().probe();
            System.out.println("available: " + p.available());
            System.out.println("reason: " + p.reason());
            System.out.println("remedy: " + p.remedy());
            System.out.println("details: " + p.details());
            return;
        }
        if (args.length > 0 && args[0].equals("hashes")) {
            try (KernelBackend b = open(); KernelBackend second = open()) {
                System.out.println("binding " + ((CudaBackend) b).driver().binding());
                new ReliabilityGpuChecks(b).deterministicOutputs(second).forEach(h -> System.out.println("  " + h));
            }
            return;
        }
        int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        try (KernelBackend b = open(); KernelBackend second = open()) {
            ReliabilityGpuChecks c = new ReliabilityGpuChecks(b);
            System.out.println("device " + b.device().name() + ", binding " + ((CudaBackend) b).driver().binding());
            System.out.println("determinism (SHA-256 of each output; compare across runs):");
            c.deterministicOutputs(second).forEach(h -> System.out.println("  " + h));
            c.sixteenThreadsMatchSerial();
            System.out.println("leak:");
            new GpuChecks(b).noMemoryGrowth(cycles);
            c.outOfMemoryIsTypedAndRecoverable();
            System.out.println("reliability GPU checks passed");
        }
    }
}
