package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code convrot} method. */
public final class ConvRotProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public ConvRotProvider() {
    }

    @Override
    public String id() {
        return "convrot";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.convrot.ConvRotMethod();
    }
}
