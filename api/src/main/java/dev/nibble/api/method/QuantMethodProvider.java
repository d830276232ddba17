package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * The service a method module provides ({@code provides QuantMethodProvider with …} and a
 * {@code META-INF/services} entry).
 */
@API(status = STABLE, since = "0.1")
public interface QuantMethodProvider {
    /** @return the method id, e.g. {@code svdquant} */
    String id();

    /** @return a new instance of the method */
    QuantMethod create();
}
