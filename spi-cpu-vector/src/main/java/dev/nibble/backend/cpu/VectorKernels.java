package dev.nibble.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on the Vector API with the preferred species of this CPU (512-bit on AVX-512, 256 on
 * AVX2). Operations not overridden here run the scalar loops of {@link ScalarKernels}.
 */
class VectorKernels extends ScalarKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    VectorKernels(WorkerPool pool) {
        super(pool);
    }

    @Override
    String path() {
        return "vector";
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
