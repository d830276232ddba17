package dev.nibble.bench;

/**
 * One GEMM implementation on one shape, set up outside the timed region: {@link #run()} computes
 * {@code Y[M,N] = X[M,K] · W[N,K]ᵀ} (or the implementation's equivalent) once and returns something
 * derived from the output so the JIT cannot drop the work.
 */
public interface GemmCase extends AutoCloseable {
    /** @return a value derived from the output, for the Blackhole */
    Object run();

    @Override
    void close();
}
