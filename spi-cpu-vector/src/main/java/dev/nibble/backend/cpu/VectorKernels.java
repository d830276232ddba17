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
    float[] gemm(float[] x, int m, int k, float[] w, int n) {
        float[] y = new float[m * n];
        FloatGemm.run(pool, x, m, k, w, n, y);
        return y;
    }
}
