package dev.nibble.conformance;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.backend.PreparedLinear;
import java.util.Objects;

/**
 * A {@link PreparedLinear} that forwards everything but {@link #forward(dev.nibble.api.backend.DeviceTensor, int)}
 * to another: the mutants override only the forward they break.
 */
abstract class ForwardingPreparedLinear implements PreparedLinear {
    /** The prepared layer calls go to. */
    protected final PreparedLinear layer;

    ForwardingPreparedLinear(PreparedLinear layer) {
        this.layer = Objects.requireNonNull(layer, "layer");
    }

    @Override
    public QuantizedLinear plan() {
        return layer.plan();
    }

    @Override
    public long deviceBytes() {
        return layer.deviceBytes();
    }

    @Override
    public void close() {
        layer.close();
    }
}
