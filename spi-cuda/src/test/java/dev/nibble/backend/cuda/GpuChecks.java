package dev.nibble.backend.cuda;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Checks that need a GPU, runnable from JUnit (CudaGpuTest) or as a main on a machine without Maven:
 * exact codes and rotations against numerics/Quantizer and numerics/Hadamard, fused linears against
 * a float64 reference built from those codes, and device memory over 10,000 prepare/forward/close
 * cycles. Each check throws AssertionError on failure.
 */
public final class GpuChecks {
    private final KernelBackend b;
    private final Random rnd = new Random(7);

    GpuChecks(KernelBackend b) {
        this.b = b;
    }

    static KernelBackend open() {
        CudaBackendProvider p = new CudaBackendProvider();
        BackendProbe probe = p.probe();
        if (!probe.available()) {
            throw new IllegalStateException(probe.reason());
        }
        return p.open(probe.devices().getFirst(), java.util.Map.of());
    }

    private Tensor randn(int rows, int cols, float scale) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian() * scale;
        }
        for (int r = 0; r < rows; r++) {
            v[r * cols + 3 % cols] *= 25f; // an outlier channel
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    void quantizeMatchesQuantizerBitForBit() {
        QuantScheme[] schemes = {QuantScheme.symmetric(4, Granularity.PER_TOKEN), QuantScheme.symmetric(8, Granularity.PER_TENSOR),
            QuantScheme.symmetricGroup(4, 64), QuantScheme.affine(4, Granularity.PER_GROUP, 48),
            QuantScheme.affine(8, Granularity.PER_CHANNEL, 0), QuantScheme.nf4(64),
            QuantScheme.symmetric(4, Granularity.PER_TOKEN).withNarrowRange().withClipRatio(0.9f)};
        Tensor x = randn(37, 301, 1f);
        try (DeviceTensor dx = b.upload(x)) {
            for (QuantScheme s : schemes) {
                QuantizedTensor ref = Quantizer.quantize(x, s);
                try (DeviceQuantized q = b.quantize(dx, s)) {
                    QuantizedTensor got = b.download(q);
                    check(Arrays.equals(got.codes().toByteArray(), ref.codes().toByteArray()), "codes " + s.describe());
                    check(Arrays.equals(got.scales().toByteArray(), ref.scales().toByteArray()), "scales " + s.describe());
                    if (ref.zeros() != null) {
                        check(Arrays.equals(got.zeros().toIntArray(), ref.zeros().toIntArray()), "zeros " + s.describe());
                    }
                    float[] deq = b.download(b.dequantize(q)).toFloatArray();
                    check(Arrays.equals(deq, Quantizer.dequantize(ref).toFloatArray()), "dequantize " + s.describe());
                }
            }
        }
    }

    void rotationsMatchHadamardBitForBit() {
        Object[][] cases = {{new Rotation.RegularHadamard(256), 1152}, {new Rotation.RegularHadamard(16), 100},
            {new Rotation.SylvesterHadamard(64), 130}, {Rotation.SylvesterHadamard.GLOBAL, 768},
            {Rotation.SylvesterHadamard.GLOBAL, 1024}, {new Rotation.RegularHadamard(1024), 2048}};
        for (Object[] c : cases) {
            Rotation r = (Rotation) c[0];
            Tensor x = randn(9, (Integer) c[1], 1f);
            try (DeviceTensor dx = b.upload(x); DeviceTensor y = b.rotate(dx, r)) {
                check(Arrays.equals(b.download(y).toFloatArray(), Hadamard.rotate(x, r).toFloatArray()),
                        "rotation " + r.describe() + " K=" + c[1]);
            }
        }
    }

    /** ‖y − ref‖ / ‖ref‖ of a fused forward against float64 from the reference codes. */
    double fusedError(int m, int k, int n, Rotation rot, QuantScheme act, QuantScheme wScheme, boolean smooth, int rank,
            boolean viaGeneric) {
        Tensor x = randn(m, k, 1f);
        int kp = rot.outputDim(k);
        Tensor w = randn(n, kp, 0.05f);
        QuantizedTensor qw = Quantizer.quantize(w, wScheme);
        float[] sm = new float[k];
        for (int i = 0; i < k; i++) {
            sm[i] = 0.5f + rnd.nextFloat();
        }
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            bias[i] = (float) rnd.nextGaussian();
        }
        QuantizedLinear.Builder pb = QuantizedLinear.builder("check", k, n).rotation(rot).weight(qw)
                .activation(new ActivationQuant.Dynamic(act)).bias(Tensor.ofFloats(bias, n));
        if (smooth) {
            pb.smooth(Tensor.ofFloats(sm, k));
        }
        Tensor down = null;
        Tensor up = null;
        if (rank > 0) {
            down = randn(kp, rank, 0.05f).to(DType.BF16);
            up = randn(n, rank, 0.05f).to(DType.BF16);
            pb.lowRank(new LowRank(down, up));
        }
        QuantizedLinear plan = pb.build();
        // reference: host transform, reference codes, float64 GEMM
        float[] xv = x.toFloatArray();
        if (smooth) {
            for (int i = 0; i < xv.length; i++) {
                xv[i] = xv[i] / sm[i % k];
            }
        }
        Tensor xt = Hadamard.rotate(Tensor.ofFloats(xv, m, k), rot);
        QuantizedTensor qa = Quantizer.quantize(xt, act);
        float[] da = Quantizer.dequantize(qa).toFloatArray();
        float[] dw = Quantizer.dequantize(qw).toFloatArray();
        float[] xtv = xt.toFloatArray();
        double num = 0;
        double den = 0;
        float[] got;
        try (DeviceTensor dx = b.upload(x)) {
            PreparedLinear p = viaGeneric ? new GenericLinear((CudaBackend) b, plan) : b.prepare(plan);
            try (p; DeviceTensor y = p.forward(dx)) {
                got = b.download(y).toFloatArray();
            }
        }
        for (int i = 0; i < m; i++) {
            double[] lr = new double[rank];
            for (int j = 0; j < rank; j++) {
                double s = 0;
                for (int c = 0; c < kp; c++) {
                    s += (double) xtv[i * kp + c] * down.getFloat((long) c * rank + j);
                }
                lr[j] = s;
            }
            for (int o = 0; o < n; o++) {
                double s = bias[o];
                for (int c = 0; c < kp; c++) {
                    s += (double) da[i * kp + c] * dw[o * kp + c];
                }
                for (int j = 0; j < rank; j++) {
                    s += lr[j] * up.getFloat((long) o * rank + j);
                }
                double d = got[i * n + o] - s;
                check(!Double.isNaN(got[i * n + o]), "NaN in the output");
                num += d * d;
                den += s * s;
            }
        }
        return Math.sqrt(num / den);
    }

    void fusedLinearsMatchTheReference() {
        Object[][] cases = {
            {"convrot w4a4", new Rotation.RegularHadamard(256), QuantScheme.symmetric(4, Granularity.PER_TOKEN),
                QuantScheme.symmetric(4, Granularity.PER_CHANNEL), false, 0, 1e-5},
            {"w8a8", new Rotation.RegularHadamard(64), QuantScheme.symmetric(8, Granularity.PER_TOKEN),
                QuantScheme.symmetric(8, Granularity.PER_CHANNEL), false, 0, 1e-5},
            {"svdquant", new Rotation.Identity(), QuantScheme.symmetricGroup(4, 64), QuantScheme.symmetricGroup(4, 64), true,
                32, 2e-5},
            {"w4 g128 x per-token", new Rotation.SylvesterHadamard(128), QuantScheme.symmetric(4, Granularity.PER_TOKEN),
                QuantScheme.symmetricGroup(4, 128), false, 0, 1e-5},
        };
        for (Object[] c : cases) {
            boolean fits = FusedLinear.fits((CudaBackend) b, QuantizedLinear.builder("t", 1152, 8)
                    .rotation((Rotation) c[1]).weight(Quantizer.quantize(randn(8, ((Rotation) c[1]).outputDim(1152), 1f),
                            (QuantScheme) c[3])).activation(new ActivationQuant.Dynamic((QuantScheme) c[2])).build());
            check(fits, c[0] + " should take the fused path");
            for (boolean generic : new boolean[] {false, true}) {
                double e = fusedError(300, 1152, 200, (Rotation) c[1], (QuantScheme) c[2], (QuantScheme) c[3],
                        (Boolean) c[4], (Integer) c[5], generic);
                System.out.printf(Locale.ROOT, "  %-22s %-8s rel err %.2e%n", c[0], generic ? "generic" : "fused", e);
                check(e < (Double) c[6], c[0] + (generic ? " (generic)" : " (fused)") + " error " + e);
            }
        }
    }

    /**
     * On a device with the wgmma kernels (sm_90), per-row W8A8 and W4A4 keep their weights tiled; every tiled dispatch
     * (128 x 256 tiles, the narrow kernels, W4 unpacked first) gives the row-major path's output bit for bit
     * ({@code -Dnibble.cuda.tiled=false} prepares the row-major layer in the same process).
     */
    void tiledGemmOnWgmmaDevices() {
        CudaBackend cb = (CudaBackend) b;
        Rotation rot = new Rotation.RegularHadamard(256);
        for (int bits : new int[] {8, 4}) {
            for (int[] mn : new int[][] {{2048, 2048}, {256, 640}, {1000, 3000}}) {
                int m = mn[0];
                int n = mn[1];
                QuantizedLinear plan = perRowPlan("tiled", rot, 1152, n, bits);
                Tensor x = randn(m, 1152, 1f);
                float[] rowMajor = forwardWithProperty("nibble.cuda.tiled", "false", plan, x,
                        p -> check(!(p instanceof FusedLinear f) || !f.tiledGemm(), "tiled=false keeps the row-major layout"));
                try (PreparedLinear p = b.prepare(plan); DeviceTensor dx = b.upload(x); DeviceTensor y = p.forward(dx)) {
                    boolean tiled = p instanceof FusedLinear f && f.tiledGemm();
                    boolean same = Arrays.equals(rowMajor, b.download(y).toFloatArray());
                    System.out.printf(Locale.ROOT, "  w%da%d %d x 1152 x %d: tiled GEMM %b (wgmma kernels %b), output equal to"
                            + " the row-major path bit for bit: %b%n", bits, bits, m, n, tiled, cb.wgmma(), same);
                    check(tiled == cb.wgmma(), "w" + bits + " per-row: tiled GEMM " + tiled + " with wgmma " + cb.wgmma());
                    check(same, "w" + bits + " " + m + " x " + n + ": tiled output differs from the row-major path");
                }
            }
        }
    }

    /**
     * W8A8 and W4A4 ConvRot at 4096 x 3072 take k_tq3h (F32 x) or k_tq3p (BF16 x), the ConvRot transform kernels, with
     * the tiled GEMM launched early after them (programmatic dependent launch), and give the output of k_tq3 with plain
     * launches bit for bit: each prepared while {@code -Dnibble.cuda.tq3=true}, {@code -Dnibble.cuda.tq3p=false} or
     * {@code -Dnibble.cuda.pdl=false} selects the reference path, over several inputs back to back (the GEMM of one
     * forward may start under its transform's tail, and k_tq3h under the previous forward's GEMM).
     */
    void convRotTransformKernel() {
        Rotation rot = new Rotation.RegularHadamard(256);
        int m = 4096;
        int k = 3072;
        int n = 512;
        for (int bits : new int[] {8, 4}) {
            QuantizedLinear plan = perRowPlan("convrot", rot, k, n, bits);
            for (DType xt : new DType[] {DType.F32, DType.BF16}) {
                List<Tensor> xs = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    xs.add(randn(m, k, 1f + i).to(xt));
                }
                List<float[]> ref = forwardsWithProperty("nibble.cuda.tq3", "true", plan, xs,
                        p -> check(!(p instanceof FusedLinear f) || f.tq3hWarpsPerRow() == 0, "nibble.cuda.tq3 keeps k_tq3"));
                String what = "w" + bits + "a" + bits + " convrot " + m + " x " + k + " x " + n + " " + xt;
                List<float[]> plain = forwardsWithProperty("nibble.cuda.pdl", "false", plan, xs, p -> { });
                check(same(ref, plain), what + ": k_tq3h/k_tq3p with plain launches differ from k_tq3");
                if (xt == DType.BF16) {
                    List<float[]> h = forwardsWithProperty("nibble.cuda.tq3p", "false", plan, xs, p -> { });
                    check(same(ref, h), what + ": k_tq3h (tq3p=false) differs from k_tq3");
                }
                List<float[]> dflt = forwardsWithProperty("nibble.cuda.tq3", "false", plan, xs, p -> {
                    int warps = p instanceof FusedLinear f ? f.tq3hWarpsPerRow() : 0;
                    check(warps == 3, what + ": k_tq3h/k_tq3p expected, warps " + warps);
                });
                boolean same = same(ref, dflt);
                System.out.printf(Locale.ROOT, "  %s: %s + the GEMM by dependent launch, %d inputs, output equal to k_tq3's"
                        + " with plain launches bit for bit: %b (plain launches equal too)%n", what,
                        xt == DType.BF16 ? "k_tq3p" : "k_tq3h (itself by dependent launch after the last GEMM)", xs.size(),
                        same);
                check(same, what + ": the default dispatch differs from k_tq3's output");
            }
        }
    }

    private static boolean same(List<float[]> a, List<float[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return a.size() == b.size();
    }

    /** As {@link #forwardWithProperty}, one layer over several inputs, each forward right after the previous one. */
    private List<float[]> forwardsWithProperty(String key, String value, QuantizedLinear plan, List<Tensor> xs,
            Consumer<PreparedLinear> inspect) {
        String old = System.getProperty(key);
        System.setProperty(key, value);
        List<DeviceTensor> ys = new ArrayList<>();
        try (PreparedLinear p = b.prepare(plan)) {
            inspect.accept(p);
            List<DeviceTensor> dxs = new ArrayList<>();
            try {
                for (Tensor x : xs) {
                    dxs.add(b.upload(x));
                }
                for (DeviceTensor dx : dxs) {
                    ys.add(p.forward(dx));
                }
                List<float[]> out = new ArrayList<>();
                for (DeviceTensor y : ys) {
                    out.add(b.download(y).toFloatArray());
                }
                return out;
            } finally {
                dxs.forEach(DeviceTensor::close);
                ys.forEach(DeviceTensor::close);
            }
        } finally {
            if (old == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, old);
            }
        }
    }

    /** A per-row W{bits}A{bits} layer (per-channel weights, per-token activations) behind {@code rot}, with a bias. */
    private QuantizedLinear perRowPlan(String name, Rotation rot, int k, int n, int bits) {
        return QuantizedLinear.builder(name, k, n).rotation(rot)
                .weight(Quantizer.quantize(randn(n, rot.outputDim(k), 0.1f), QuantScheme.symmetric(bits, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(bits, Granularity.PER_TOKEN)))
                .bias(randn(1, n, 1f).reshape(n)).build();
    }

    /**
     * The output of {@code plan} prepared while system property {@code key} is {@code value} (restored afterwards),
     * after {@code inspect} has looked at the prepared layer: the reference path a dispatch property selects.
     */
    private float[] forwardWithProperty(String key, String value, QuantizedLinear plan, Tensor x,
            Consumer<PreparedLinear> inspect) {
        return forwardsWithProperty(key, value, plan, List.of(x), inspect).getFirst();
    }

    void noMemoryGrowth(int cycles) {
        CudaBackend cb = (CudaBackend) b;
        QuantizedLinear plan = QuantizedLinear.builder("cycle", 256, 256).rotation(new Rotation.RegularHadamard(64))
                .weight(Quantizer.quantize(randn(256, 256, 0.1f), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)))
                .bias(Tensor.ofFloats(new float[256], 256)).build();
        Tensor x = randn(16, 256, 1f);
        Runnable cycle = () -> {
            try (DeviceTensor dx = b.upload(x); PreparedLinear p = b.prepare(plan); DeviceTensor y = p.forward(dx)) {
                b.download(y);
            }
        };
        for (int i = 0; i < 10; i++) {
            cycle.run();
        }
        cb.driver().synchronize();
        long before = cb.driver().memoryInfo()[0];
        long[] poolBefore = cb.poolBytes();
        for (int i = 0; i < cycles; i++) {
            cycle.run();
        }
        cb.driver().synchronize();
        long after = cb.driver().memoryInfo()[0];
        long[] poolAfter = cb.poolBytes();
        System.out.printf(Locale.ROOT, "  %d cycles: free device memory %d -> %d bytes, pool live %d -> %d, cached %d -> %d%n",
                cycles, before, after, poolBefore[0], poolAfter[0], poolBefore[1], poolAfter[1]);
        check(after == before, "device memory changed by " + (before - after) + " bytes over " + cycles + " cycles");
        check(poolAfter[0] == poolBefore[0], "live pool bytes grew");
    }

    void runAll(int cycles) {
        System.out.println("binding " + ((CudaBackend) b).driver().binding() + ", device " + b.device().name() + " "
                + b.device().properties());
        quantizeMatchesQuantizerBitForBit();
        System.out.println("  quantize/dequantize codes bit-identical: OK");
        rotationsMatchHadamardBitForBit();
        System.out.println("  rotations bit-identical: OK");
        fusedLinearsMatchTheReference();
        tiledGemmOnWgmmaDevices();
        convRotTransformKernel();
        noMemoryGrowth(cycles);
        System.out.println("GPU checks passed");
    }

    /** @param args optional number of memory cycles (default 10000) */
    public static void main(String[] args) {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        try (KernelBackend b = open()) {
            new GpuChecks(b).runAll(cycles);
        }
    }
}
