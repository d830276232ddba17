package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code rtn} method. */
public final class RtnProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public RtnProvider() {
    }

    @Override
    public String id() {
        return "rtn";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.baseline.RtnMethod();
    }
}
