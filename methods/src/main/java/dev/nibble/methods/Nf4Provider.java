package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code nf4} method. */
public final class Nf4Provider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public Nf4Provider() {
    }

    @Override
    public String id() {
        return "nf4";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.baseline.Nf4Method();
    }
}
