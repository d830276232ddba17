package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.Shape;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * A quantized tensor in a backend's memory, in canonical layout: codes {@code [rows, K]} packed as
 * {@link dev.nibble.api.numerics.Int4Packing} says, F32 scales, I32 zero points for affine schemes.
 *
 * @param codes the codes
 * @param scales the scales
 * @param zeros the zero points, or null for symmetric schemes
 * @param scheme the scheme
 */
@API(status = STABLE, since = "0.1")
public record DeviceQuantized(DeviceTensor codes, DeviceTensor scales, DeviceTensor zeros, QuantScheme scheme)
        implements AutoCloseable {
    /** Requires codes, scales and scheme. */
    public DeviceQuantized {
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(scales, "scales");
        Objects.requireNonNull(scheme, "scheme");
    }

    /** @return the logical shape of the codes */
    public Shape shape() {
        return codes.shape();
    }

    /** Releases codes, scales and zero points. */
    @Override
    public void close() {
        codes.close();
        scales.close();
        if (zeros != null) {
            zeros.close();
        }
    }
}
