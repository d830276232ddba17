package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.QuantizedLinear;
import org.apiguardian.api.API;

/**
 * A {@link QuantizedLinear} made resident on a device, laid out for its kernels. Safe for
 * concurrent {@link #forward} calls from several threads; each returns the bytes a serial call
 * would. {@link #close()} must not race with a forward still running.
 */
@API(status = STABLE, since = "0.1")
public interface PreparedLinear extends AutoCloseable {
    /** @return the plan this was prepared from */
    QuantizedLinear plan();

    /**
     * Runs the fused layer on rows of x: transform, quantize, low-bit GEMM, dequantize,
     * low-rank branch, bias.
     *
     * @param x F32 {@code [..., K]}
     * @return F32 {@code [..., N]}, a new tensor the caller closes
     * @throws dev.nibble.api.InvalidInputException if x does not have K columns
     */
    default DeviceTensor forward(DeviceTensor x) {
        return forward(x, 0);
    }

    /**
     * As {@link #forward(DeviceTensor)}, with the sampling step that selects static activation
     * parameters (TFMQ); plans without a per-step table ignore it.
     *
     * @param x F32 {@code [..., K]}
     * @param step the sampling step index
     * @return F32 {@code [..., N]}
     */
    DeviceTensor forward(DeviceTensor x, int step);

    /** @return bytes of device memory this layer holds */
    long deviceBytes();

    /** Releases the device memory; idempotent. */
    @Override
    void close();
}
