package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code smoothquant} method. */
public final class SmoothQuantProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public SmoothQuantProvider() {
    }

    @Override
    public String id() {
        return "smoothquant";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.baseline.SmoothQuantMethod();
    }
}
