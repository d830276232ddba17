package dev.nibble.backend.cpu;

/** Creates {@link VectorKernels}; a separate class so the Vector API loads only when it is present. */
final class VectorKernelsLoader {
    private VectorKernelsLoader() {
    }

    static ScalarKernels create(WorkerPool pool) {
        return new VectorKernels(pool);
    }
}
