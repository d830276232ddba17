package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.QuantizedLinear;
import org.apiguardian.api.API;

/**
 * A {@link QuantizedLinear} made resident on a device, laid out for its kernels. Safe for
 * concurrent {@link #forward} calls from several threads; each returns the bytes a serial call
 * would. {@link #close()} must not race with a forward still running.
 *
 * <p><b>Activation types.</b> {@link #forward} takes x in F32 or BF16 and returns the result in
 * x's type. BF16 is defined by the F32 path, bit for bit, on every backend: each element of a BF16
 * x is widened exactly to F32 ({@link dev.nibble.api.numerics.Bf16#widen}), the F32 pipeline runs
 * on that, and the BF16 result is the F32 result that F32 x would give, rounded to nearest even
 * ({@link dev.nibble.api.numerics.Bf16#round}: overflow to ±infinity, a NaN stays a NaN). BF16
 * activations halve the activation traffic; they change nothing in the arithmetic in between.
 */
@API(status = STABLE, since = "0.1")
public interface PreparedLinear extends AutoCloseable {
    /** @return the plan this was prepared from */
    QuantizedLinear plan();

    /**
     * Runs the fused layer on rows of x: transform, quantize, low-bit GEMM, dequantize,
     * low-rank branch, bias.
     *
     * @param x F32 or BF16 {@code [..., K]}
     * @return {@code [..., N]} in x's dtype (F32 or BF16, see the class comment), a new tensor the
     *     caller closes
     * @throws dev.nibble.api.InvalidInputException if x does not have K columns, or its dtype is
     *     neither F32 nor BF16 (the message names the layer and the dtype)
     */
    default DeviceTensor forward(DeviceTensor x) {
        return forward(x, 0);
    }

    /**
     * As {@link #forward(DeviceTensor)}, with the sampling step that selects static activation
     * parameters (TFMQ); plans without a per-step table ignore it.
     *
     * @param x F32 or BF16 {@code [..., K]}
     * @param step the sampling step index
     * @return {@code [..., N]} in x's dtype
     * @throws dev.nibble.api.InvalidInputException as {@link #forward(DeviceTensor)}, or if the
     *     plan's static table has no such step
     */
    DeviceTensor forward(DeviceTensor x, int step);

    /** @return bytes of device memory this layer holds */
    long deviceBytes();

    /** Releases the device memory; idempotent. */
    @Override
    void close();
}
