package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code tfmq} method. */
public final class TfmqProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public TfmqProvider() {
    }

    @Override
    public String id() {
        return "tfmq";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.tfmq.TfmqMethod();
    }
}
