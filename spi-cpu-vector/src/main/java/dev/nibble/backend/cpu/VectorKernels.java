package dev.nibble.backend.cpu;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.Nf4;
import dev.nibble.api.numerics.Quantizer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on the Vector API with the preferred species of this CPU (512-bit on AVX-512, 256 on
 * AVX2). Operations not overridden here run the scalar loops of {@link ScalarKernels}.
 */
class VectorKernels extends ScalarKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntGemm.I;
    private static final float MAGIC = IntGemm.MAGIC;
    private static final float[] NF4 = Nf4.values();

    VectorKernels(WorkerPool pool) {
        super(pool);
    }

    @Override
    String path() {
        return "vector";
    }

    /**
     * The range statistics with vectors (max and min are exact in any order), then the scheme's
     * scale formula from {@link Quantizer#computeParams} on those statistics, so scales are the
     * canonical ones bit for bit.
     */
    @Override
    void params(float[] x, int from, int to, QuantScheme s, float[] scales, int[] zeros, int at) {
        int i = from;
        if (s.symmetric()) {
            FloatVector mx = FloatVector.zero(F);
            for (; i + L <= to; i += L) {
                mx = mx.max(FloatVector.fromArray(F, x, i).abs());
            }
            float absmax = mx.reduceLanes(VectorOperators.MAX);
            for (; i < to; i++) {
                absmax = Math.max(absmax, Math.abs(x[i]));
            }
            Quantizer.computeParams(new float[] {absmax}, 0, 1, s, scales, zeros, at);
        } else {
            FloatVector lo = FloatVector.zero(F);
            FloatVector hi = lo;
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            float l = lo.reduceLanes(VectorOperators.MIN);
            float h = hi.reduceLanes(VectorOperators.MAX);
            for (; i < to; i++) {
                l = Math.min(l, x[i]);
                h = Math.max(h, x[i]);
            }
            Quantizer.computeParams(new float[] {l, h}, 0, 2, s, scales, zeros, at);
        }
    }

    /**
     * {@code clamp(rint(x / scale) + zero)} with IEEE division; rint by the 1.5·2^23 trick, exact
     * for |q| < 2^22 (larger values clamp to the same code either way). NF4 keeps the scalar rule
     * (nearest value, ties to the lower index) as a 16-step vector compare.
     */
    @Override
    void encode(float[] x, int from, int to, float scale, int zero, QuantScheme s, byte[] codes) {
        int i = from;
        if (s.format() == QuantScheme.Format.NF4) {
            if (scale != 0f) {
                for (; i + L <= to; i += L) {
                    FloatVector v = FloatVector.fromArray(F, x, i).div(scale);
                    FloatVector best = FloatVector.broadcast(F, NF4[0]).sub(v).abs();
                    IntVector idx = IntVector.zero(I);
                    for (int c = 1; c < 16; c++) {
                        FloatVector d = FloatVector.broadcast(F, NF4[c]).sub(v).abs();
                        VectorMask<Float> closer = d.lt(best);
                        best = best.blend(d, closer);
                        idx = idx.blend(c, closer.cast(I));
                    }
                    idx.convertShape(VectorOperators.I2B, IntGemm.B, 0).reinterpretAsBytes().intoArray(codes, i);
                }
            }
            super.encode(x, i, to, scale, zero, s, codes);
            return;
        }
        if (scale != 0f) {
            float qmin = s.qmin();
            float qmax = s.qmax();
            float z = zero;
            for (; i + L <= to; i += L) {
                FloatVector q = FloatVector.fromArray(F, x, i).div(scale);
                q = q.add(MAGIC).sub(MAGIC).add(z).min(qmax).max(qmin);
                IntVector c = (IntVector) q.convert(VectorOperators.F2I, 0);
                c.convertShape(VectorOperators.I2B, IntGemm.B, 0).reinterpretAsBytes().intoArray(codes, i);
            }
        }
        super.encode(x, i, to, scale, zero, s, codes);
    }

    @Override
    float[] rotate(float[] x, int rows, int k, Rotation rotation) {
        int kp = rotation.outputDim(k);
        float[] out = new float[rows * kp];
        if (rotation instanceof Rotation.Dense d) {
            float[] q = d.matrix().toFloatArray();
            pool.forEach(rows, r -> VectorRotations.denseRow(x, r * k, q, k, out, r * kp));
            return out;
        }
        int chunk = Math.max(1, 8192 / Math.max(1, kp));
        int tasks = (rows + chunk - 1) / chunk;
        pool.forEach(tasks, t -> {
            float[] tmp = new float[256 * L];
            for (int r = t * chunk; r < Math.min(rows, (t + 1) * chunk); r++) {
                System.arraycopy(x, r * k, out, r * kp, k);
                VectorRotations.rotateRow(out, r * kp, k, kp, rotation, tmp);
            }
        });
        return out;
    }

    @Override
    float[] smooth(float[] x, int rows, int k, float[] divisor) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * k;
            int j = 0;
            for (; j + L <= k; j += L) {
                FloatVector.fromArray(F, x, o + j).div(FloatVector.fromArray(F, divisor, j)).intoArray(y, o + j);
            }
            for (; j < k; j++) {
                y[o + j] = x[o + j] / divisor[j];
            }
        });
        return y;
    }

    @Override
    float[] addRow(float[] x, int rows, int k, float[] offset) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * k;
            int j = 0;
            for (; j + L <= k; j += L) {
                FloatVector.fromArray(F, x, o + j).add(FloatVector.fromArray(F, offset, j)).intoArray(y, o + j);
            }
            for (; j < k; j++) {
                y[o + j] = x[o + j] + offset[j];
            }
        });
        return y;
    }

    @Override
    float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        int i = 0;
        for (; i + L <= a.length; i += L) {
            FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(y, i);
        }
        for (; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    @Override
    Object prepareDense(float[] w, int n, int k) {
        return FloatGemm.pack(w, n, k);
    }

    @Override
    float[] gemmDensePrepared(float[] x, int m, int k, Object w, int n) {
        float[] y = new float[m * n];
        FloatGemm.runPacked(pool, x, m, k, (float[]) w, n, y);
        return y;
    }

    @Override
    Object prepareIntWeight(Quantized w) {
        return new PackedWeight(w, IntGemm.L);
    }

    @Override
    Object prepareWeightOnly(Quantized w) {
        return new PackedWeight(w, IntGemm.L);
    }

    @Override
    long preparedBytes(Object prepared) {
        return ((PackedWeight) prepared).byteSize();
    }

    @Override
    int[] accumulate(Quantized a, Quantized w, int g) {
        int groups = Math.max(1, (a.k() + g - 1) / g);
        int[] acc = new int[groups * a.rows() * w.rows()];
        IntGemm.run(pool, a, new PackedWeight(w, IntGemm.L), g, null, acc);
        return acc;
    }

    @Override
    float[] gemmQuantized(Quantized a, Quantized w, int g) {
        return gemmQuantizedPrepared(a, new PackedWeight(w, IntGemm.L));
    }

    @Override
    float[] gemmQuantizedPrepared(Quantized a, Object prepared) {
        PackedWeight w = (PackedWeight) prepared;
        int g = CpuKernelBackend.outputGroup(a, w.q);
        float[] y = new float[a.rows() * w.n];
        IntGemm.run(pool, a, w, g, y, null);
        return y;
    }

    @Override
    float[] gemmWeightOnly(float[] x, int m, Quantized w) {
        return gemmWeightOnlyPrepared(x, m, new PackedWeight(w, IntGemm.L));
    }

    @Override
    float[] gemmWeightOnlyPrepared(float[] x, int m, Object prepared) {
        PackedWeight w = (PackedWeight) prepared;
        float[] y = new float[m * w.n];
        IntGemm.weightOnly(pool, x, m, w, y);
        return y;
    }

    @Override
    float[] gemm(float[] x, int m, int k, float[] w, int n) {
        float[] y = new float[m * n];
        FloatGemm.run(pool, x, m, k, w, n, y);
        return y;
    }
}
