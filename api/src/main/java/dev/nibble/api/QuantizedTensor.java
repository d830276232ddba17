package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Objects;
import org.apiguardian.api.API;

/**
 * A quantized host tensor in canonical form: packed codes, float32 scales, optional zero points
 * and the scheme that produced them. This is the form files, the reference and the conformance kit
 * use; a backend may re-tile it when it uploads.
 *
 * @param codes codes of {@code scheme.codeType()} with the logical shape {@code [rows, K]}
 * @param scales F32 scales: {@code [1]}, {@code [rows]} or {@code [rows, groups]} by granularity
 * @param zeros I32 zero points of the same shape as scales for affine schemes, else {@code null}
 * @param scheme the scheme
 */
@API(status = STABLE, since = "0.1")
public record QuantizedTensor(Tensor codes, Tensor scales, Tensor zeros, QuantScheme scheme) {

    /**
     * Checks the parts against each other.
     *
     * @throws IllegalArgumentException naming the part that does not fit
     */
    public QuantizedTensor {
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(scales, "scales");
        Objects.requireNonNull(scheme, "scheme");
        if (codes.dtype() != scheme.codeType()) {
            throw new IllegalArgumentException("codes are " + codes.dtype() + " but scheme "
                    + scheme.describe() + " needs " + scheme.codeType());
        }
        if (scales.dtype() != DType.F32) {
            throw new IllegalArgumentException("scales must be F32, got " + scales.dtype());
        }
        long expected = expectedScaleCount(codes.shape(), scheme);
        if (scales.elementCount() != expected) {
            throw new IllegalArgumentException("scheme " + scheme.describe() + " on codes " + codes.shape()
                    + " needs " + expected + " scales, got " + scales.elementCount());
        }
        if (scheme.symmetric() != (zeros == null)) {
            throw new IllegalArgumentException(scheme.symmetric()
                    ? "a symmetric scheme has no zero points" : "an affine scheme needs zero points");
        }
        if (zeros != null && (zeros.dtype() != DType.I32 || zeros.elementCount() != expected)) {
            throw new IllegalArgumentException("zero points must be I32 with " + expected + " elements");
        }
    }

    /**
     * @param shape the logical shape of the codes
     * @param scheme the scheme
     * @return the number of scales the scheme needs for that shape
     */
    public static long expectedScaleCount(Shape shape, QuantScheme scheme) {
        return switch (scheme.granularity()) {
            case PER_TENSOR -> 1;
            case PER_CHANNEL, PER_TOKEN -> shape.rows();
            case PER_GROUP -> shape.rows() * scheme.scalesPerRow(shape.cols());
        };
    }

    /** @return the logical shape {@code [rows, K]} */
    public Shape shape() {
        return codes.shape();
    }

    /** @return bytes of codes, scales and zero points together */
    public long byteSize() {
        return codes.data().byteSize() + scales.data().byteSize() + (zeros == null ? 0 : zeros.data().byteSize());
    }
}
