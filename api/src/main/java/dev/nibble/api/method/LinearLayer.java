package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * A full-precision linear layer to quantize: {@code y = x·Wᵀ + b}.
 *
 * @param name the layer's name in its model
 * @param role its role in a DiT
 * @param weight {@code [N, K]}, F32, F16 or BF16
 * @param bias F32 {@code [N]}, or null
 */
@API(status = STABLE, since = "0.1")
public record LinearLayer(String name, LayerRole role, Tensor weight, Tensor bias) {
    /** @throws IllegalArgumentException naming the layer if the shapes do not fit */
    public LinearLayer {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(weight, "weight");
        if (weight.shape().rank() != 2 || !weight.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("layer '" + name + "': weight must be a floating-point [N, K] matrix, got " + weight);
        }
        if (bias != null && (bias.dtype() != DType.F32 || bias.elementCount() != weight.shape().dim(0))) {
            throw new IllegalArgumentException("layer '" + name + "': bias must be F32 [" + weight.shape().dim(0) + "], got " + bias);
        }
    }

    /** @return K */
    public int inFeatures() {
        return Math.toIntExact(weight.shape().dim(1));
    }

    /** @return N */
    public int outFeatures() {
        return Math.toIntExact(weight.shape().dim(0));
    }
}
