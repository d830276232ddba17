package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code svdquant} method. */
public final class SvdQuantProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public SvdQuantProvider() {
    }

    @Override
    public String id() {
        return "svdquant";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.svdquant.SvdQuantMethod();
    }
}
