package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code quarot} method. */
public final class QuaRotProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public QuaRotProvider() {
    }

    @Override
    public String id() {
        return "quarot";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.baseline.QuaRotMethod();
    }
}
