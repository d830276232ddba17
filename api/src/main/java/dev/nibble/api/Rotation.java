package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Objects;
import org.apiguardian.api.API;

/**
 * An orthogonal input transform R, applied to activations at run time and folded into weights
 * offline: {@code Y = X·Wᵀ = (X·R)·(W·R)ᵀ}. Rotations are data that every backend knows how to
 * execute; the evaluation order of the fast transforms is fixed (docs/kernels.md) so that
 * backends agree bit for bit where they follow it.
 */
@API(status = STABLE, since = "0.1")
public sealed interface Rotation {

    /**
     * @param k the input width of a layer
     * @return the width after the rotation (K rounded up to whole blocks for grouped rotations)
     */
    int outputDim(long k);

    /** @return a short name for logs, metadata and file headers */
    String describe();

    /** The identity: no rotation. */
    @API(status = STABLE, since = "0.1")
    record Identity() implements Rotation {
        @Override
        public int outputDim(long k) {
            return Math.toIntExact(k);
        }

        @Override
        public String describe() {
            return "identity";
        }
    }

    /**
     * ConvRot's grouped regular Hadamard: block-diagonal with blocks of {@code blockSize = 4^k}
     * built as Kronecker powers of the 4×4 regular Hadamard
     * {@code [[1,1,1,-1],[1,1,-1,1],[1,-1,1,1],[-1,1,1,1]]}, scaled by {@code 1/sqrt(blockSize)}
     * (a power of two, so exact). K not a multiple of the block is zero-padded.
     *
     * @param blockSize N0: 4, 16, 64, 256 or 1024
     */
    @API(status = STABLE, since = "0.1")
    record RegularHadamard(int blockSize) implements Rotation {
        /**
         * @throws IllegalArgumentException if the block size is not a power of 4 between 4 and 1024
         */
        public RegularHadamard {
            if (blockSize < 4 || blockSize > 1024 || Integer.bitCount(blockSize) != 1
                    || Integer.numberOfTrailingZeros(blockSize) % 2 != 0) {
                throw new IllegalArgumentException("regular Hadamard blocks are 4, 16, 64, 256 or 1024, got " + blockSize);
            }
        }

        @Override
        public int outputDim(long k) {
            return Math.toIntExact((k + blockSize - 1) / blockSize * blockSize);
        }

        @Override
        public String describe() {
            return "regular-hadamard-" + blockSize;
        }
    }

    /**
     * A Sylvester (Walsh) Hadamard transform. With {@code blockSize == 0} it is QuaRot's global
     * transform over the whole K, where {@code K = hadK × 2^m} and hadK is 1 or one of
     * {@link dev.nibble.api.numerics.HadamardMatrices#SPECIAL_ORDERS}; otherwise it is
     * block-diagonal with power-of-two blocks (zero-padded), for ablations.
     *
     * @param blockSize 0 for global, else a power of two ≥ 2
     */
    @API(status = STABLE, since = "0.1")
    record SylvesterHadamard(int blockSize) implements Rotation {
        /** The global QuaRot transform. */
        public static final SylvesterHadamard GLOBAL = new SylvesterHadamard(0);

        /**
         * @throws IllegalArgumentException if a block size is given and is not a power of two
         */
        public SylvesterHadamard {
            if (blockSize != 0 && (blockSize < 2 || Integer.bitCount(blockSize) != 1)) {
                throw new IllegalArgumentException("Sylvester blocks are powers of two, got " + blockSize);
            }
        }

        @Override
        public int outputDim(long k) {
            return blockSize == 0 ? Math.toIntExact(k) : Math.toIntExact((k + blockSize - 1) / blockSize * blockSize);
        }

        @Override
        public String describe() {
            return blockSize == 0 ? "sylvester-hadamard-global" : "sylvester-hadamard-" + blockSize;
        }
    }

    /**
     * A dense orthogonal matrix (random orthogonal for ablations), applied as {@code x·Q}.
     *
     * @param matrix F32 {@code [K, K]}, orthogonal
     * @param label a name for logs (e.g. {@code random-orthogonal-seed42})
     */
    @API(status = STABLE, since = "0.1")
    record Dense(Tensor matrix, String label) implements Rotation {
        /**
         * @throws IllegalArgumentException if the matrix is not square F32
         */
        public Dense {
            Objects.requireNonNull(matrix, "matrix");
            if (matrix.dtype() != DType.F32 || matrix.shape().rank() != 2
                    || matrix.shape().dim(0) != matrix.shape().dim(1)) {
                throw new IllegalArgumentException("a dense rotation is a square F32 matrix, got " + matrix);
            }
        }

        @Override
        public int outputDim(long k) {
            if (k != matrix.shape().dim(0)) {
                throw new IllegalArgumentException("dense rotation of order " + matrix.shape().dim(0)
                        + " applied to rows of " + k);
            }
            return Math.toIntExact(k);
        }

        @Override
        public String describe() {
            return label;
        }
    }

    /** @return the identity rotation */
    static Rotation identity() {
        return new Identity();
    }
}
