package dev.nibble.backend.cuda;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Int4Packing;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The fused path, two launches per forward (the Nunchaku/ConvRot shape):
 * <ol>
 *   <li>k_tq reads x once: smoothing, shift, grouped Hadamard, per-token or per-(token, group)
 *       scales, packed codes, and the low-rank down projection x_t·down;</li>
 *   <li>k_gemm_* multiplies the codes on tensor cores with the resident weight codes and writes the
 *       output once: dequantization, low-rank up projection and bias in the epilogue.</li>
 * </ol>
 * Weights are padded at prepare time to the kernel's K alignment (zero codes, zero scales).
 */
final class FusedLinear implements PreparedLinear {
    private final CudaBackend b;
    private final QuantizedLinear plan;
    private final int bits;
    private final int kp;
    private final int kpad;
    private final boolean grouped;
    private final int gs;
    private final int gout;
    private final boolean replicate;
    private final int rot;
    private final int n0;
    private final float rscale;
    private final QuantScheme act;
    private final CudaTensor wcodes;
    private final CudaTensor wscales;
    private final CudaTensor smooth;
    private final CudaTensor shift;
    private final CudaTensor down;
    private final CudaTensor up;
    private final CudaTensor bias;
    private final int rank;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** @return true if the plan can run on the fused kernels of this device */
    static boolean fits(CudaBackend b, QuantizedLinear plan) {
        if (!(plan.activation() instanceof ActivationQuant.Dynamic dyn) || plan.weight() == null) {
            return false;
        }
        QuantScheme a = dyn.scheme();
        QuantScheme w = plan.weight().scheme();
        if (!TensorCoreGemm.intSym(a) || !TensorCoreGemm.intSym(w) || a.bits() != w.bits()) {
            return false;
        }
        boolean ga = a.granularity() == Granularity.PER_GROUP;
        boolean gw = w.granularity() == Granularity.PER_GROUP;
        if (a.granularity() == Granularity.PER_TENSOR) {
            return false;
        }
        if (ga && gw && a.groupSize() != w.groupSize()) {
            return false;
        }
        if (ga || gw) {
            int g = ga ? a.groupSize() : w.groupSize();
            if (g % TensorCoreGemm.chunk(a.bits()) != 0) {
                return false;
            }
        }
        switch (plan.rotation()) {
            case Rotation.Identity i -> { }
            case Rotation.RegularHadamard r -> { }
            case Rotation.SylvesterHadamard s when s.blockSize() != 0 -> { }
            default -> {
                return false;
            }
        }
        if (plan.lowRank() != null) {
            DType u = plan.lowRank().up().dtype();
            int r = plan.lowRank().rank();
            if ((u != DType.BF16 && u != DType.F16) || r % 16 != 0 || r > 64 || r == 0) {
                return false;
            }
        }
        int kpad = pad(plan.transformedInFeatures(), a.bits());
        int g = ga ? a.groupSize() : gw ? w.groupSize() : kpad;
        return 4L * (kpad + 512) <= b.sharedMemoryOptin() && kpad / g <= 1024 && plan.inFeatures() > 0;
    }

    static int pad(int k, int bits) {
        int al = TensorCoreGemm.alignment(bits);
        return (k + al - 1) / al * al;
    }

    FusedLinear(CudaBackend b, QuantizedLinear plan) {
        this.b = b;
        this.plan = plan;
        act = ((ActivationQuant.Dynamic) plan.activation()).scheme();
        QuantizedTensor w = plan.weight();
        bits = act.bits();
        kp = plan.transformedInFeatures();
        kpad = pad(kp, bits);
        boolean ga = act.granularity() == Granularity.PER_GROUP;
        boolean gw = w.scheme().granularity() == Granularity.PER_GROUP;
        grouped = ga || gw;
        gs = grouped ? (ga ? act.groupSize() : w.scheme().groupSize()) : kpad;
        gout = grouped ? kpad / gs : 1;
        replicate = grouped && !ga;
        switch (plan.rotation()) {
            case Rotation.RegularHadamard r -> {
                rot = 1;
                n0 = r.blockSize();
                rscale = 1f / (1 << (Integer.numberOfTrailingZeros(n0) / 2));
            }
            case Rotation.SylvesterHadamard s -> {
                rot = 2;
                n0 = s.blockSize();
                rscale = (float) (1.0 / Math.sqrt(n0));
            }
            default -> {
                rot = 0;
                n0 = 1;
                rscale = 1f;
            }
        }
        int n = plan.outFeatures();
        wcodes = b.uploadRaw(padCodes(w.codes(), n, kp, kpad, bits));
        wscales = b.uploadRaw(padScales(w, n, kp));
        smooth = b.uploadF32(plan.smooth());
        shift = b.uploadF32(plan.shift());
        bias = b.uploadF32(plan.bias());
        if (plan.lowRank() != null) {
            rank = plan.lowRank().rank();
            down = b.uploadRaw(plan.lowRank().down());
            up = b.uploadRaw(plan.lowRank().up());
        } else {
            rank = 0;
            down = null;
            up = null;
        }
    }

    /** Canonical codes [N, kp] re-laid to [N, kpad] with zero codes in the padding. */
    static Tensor padCodes(Tensor codes, int n, int kp, int kpad, int bits) {
        if (bits == 8) {
            byte[] src = codes.toByteArray();
            byte[] out = new byte[n * kpad];
            for (int r = 0; r < n; r++) {
                System.arraycopy(src, r * kp, out, r * kpad, kp);
            }
            return Tensor.ofBytes(DType.I8, out, n, kpad);
        }
        int[] c = Int4Packing.unpack(codes.toByteArray(), n, kp, true);
        int[] p = new int[n * kpad];
        for (int r = 0; r < n; r++) {
            System.arraycopy(c, r * kp, p, r * kpad, kp);
        }
        return Tensor.ofBytes(DType.INT4, Int4Packing.pack(p, n, kpad), n, kpad);
    }

    /** Weight scales as the kernel reads them: [N] per row, or [N, kpad/g] per group (0 in the padding). */
    private Tensor padScales(QuantizedTensor w, int n, int kpIn) {
        float[] s = w.scales().toFloatArray();
        QuantScheme ws = w.scheme();
        if (!grouped) {
            if (ws.granularity() == Granularity.PER_TENSOR) {
                float[] o = new float[n];
                java.util.Arrays.fill(o, s[0]);
                return Tensor.ofFloats(o, n);
            }
            return Tensor.ofFloats(s, n);
        }
        float[] o = new float[n * gout];
        if (ws.granularity() == Granularity.PER_GROUP) {
            int g = ws.scalesPerRow(kpIn);
            for (int r = 0; r < n; r++) {
                System.arraycopy(s, r * g, o, r * gout, g);
            }
        } else {
            int groupsIn = (kpIn + gs - 1) / gs;
            for (int r = 0; r < n; r++) {
                float v = ws.granularity() == Granularity.PER_TENSOR ? s[0] : s[r];
                java.util.Arrays.fill(o, r * gout, r * gout + groupsIn, v);
            }
        }
        return Tensor.ofFloats(o, n, gout);
    }

    @Override
    public QuantizedLinear plan() {
        return plan;
    }

    /** Rows per k_tq block: several when a low-rank branch reads `down` (once for all of them). */
    private int rowsPerBlock() {
        if (rank == 0) {
            return 1;
        }
        return Math.max(1, Math.min(4, b.sharedMemoryOptin() / 2 / 4 / (kpad + 512)));  // 2 blocks per SM
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        synchronized (b.lock()) {
            b.enter();
            if (closed.get()) {
                throw new IllegalStateException("prepared layer '" + plan.name() + "' is closed");
            }
            CudaTensor in = b.f32(x, "x");
            int k = plan.inFeatures();
            if (in.shape().cols() != k) {
                throw new InvalidInputException("layer '" + plan.name() + "': x has " + in.shape().cols()
                        + " columns, the layer takes " + k);
            }
            int m = Math.toIntExact(in.shape().rows());
            int n = plan.outFeatures();
            CudaTensor y = b.alloc(DType.F32, in.shape().withCols(n));
            if (m == 0) {
                return y;
            }
            try (CudaTensor codes = b.alloc(bits == 4 ? DType.INT4 : DType.I8, Shape.of(m, kpad));
                    CudaTensor scales = b.alloc(DType.F32, Shape.of((long) m * gout));
                    CudaTensor lr = rank == 0 ? null : b.alloc(up.dtype(), Shape.of(m, 2L * rank))) {
                DType dd = down == null ? DType.BF16 : down.dtype();
                int rows = rowsPerBlock();
                b.launch(rank > 0 ? "k_tq_lr" : "k_tq", (m + rows - 1) / rows, 1, 1, 256, 4 * (rows * kpad + 8 * rows * 64), in, k, kp, kpad,
                        smooth, shift, rot, n0, rscale, bits,
                        replicate ? kpad : gs, gout, replicate ? 1 : 0, act.clipRatio(), act.qmin(), act.qmax(), codes, scales, down,
                        dd.ordinal(), rank, lr, up == null ? DType.BF16.ordinal() : up.dtype().ordinal(), m, rows);
                TensorCoreGemm.launch(b, bits, grouped, codes, wcodes, m, n, kpad, scales, wscales, gout,
                        TensorCoreGemm.chunksPerGroupArg(bits, gs, b.computeMajor()), lr, up, rank,
                        up == null ? DType.BF16 : up.dtype(), bias, y);
            }
            return y;
        }
    }

    @Override
    public long deviceBytes() {
        long s = 0;
        for (CudaTensor t : new CudaTensor[] {wcodes, wscales, smooth, shift, down, up, bias}) {
            s += t == null ? 0 : t.bytes();
        }
        return s;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (CudaTensor t : new CudaTensor[] {wcodes, wscales, smooth, shift, down, up, bias}) {
                if (t != null) {
                    t.close();
                }
            }
            b.forget(this);
        }
    }
}
