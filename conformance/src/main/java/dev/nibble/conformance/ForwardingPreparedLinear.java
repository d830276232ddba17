package dev.nibble.conformance;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import java.util.Objects;

/**
 * A {@link PreparedLinear} whose {@link #forward(DeviceTensor, int)} is computed by a {@link Forward} from another
 * layer, to which everything else is forwarded: the mutants and the broken test backends replace only the forward
 * they break.
 */
final class ForwardingPreparedLinear implements PreparedLinear {
    /** A forward computed from another layer's. */
    @FunctionalInterface
    interface Forward {
        DeviceTensor apply(PreparedLinear layer, DeviceTensor x, int step);
    }

    private final PreparedLinear layer;
    private final Forward forward;

    private ForwardingPreparedLinear(PreparedLinear layer, Forward forward) {
        this.layer = Objects.requireNonNull(layer, "layer");
        this.forward = Objects.requireNonNull(forward, "forward");
    }

    /** @return {@code layer} with its forward replaced by {@code forward}, everything else forwarded */
    static PreparedLinear withForward(PreparedLinear layer, Forward forward) {
        return new ForwardingPreparedLinear(layer, forward);
    }

    @Override
    public DeviceTensor forward(DeviceTensor x, int step) {
        return forward.apply(layer, x, step);
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
