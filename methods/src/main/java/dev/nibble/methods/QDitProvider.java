package dev.nibble.methods;

import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;

/** Provides the {@code qdit} method. */
public final class QDitProvider implements QuantMethodProvider {
    /** Creates the provider (service loader). */
    public QDitProvider() {
    }

    @Override
    public String id() {
        return "qdit";
    }

    @Override
    public QuantMethod create() {
        return new dev.nibble.methods.qdit.QDitMethod();
    }
}
