package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/** The root of Nibble's typed, unchecked errors. Messages name what failed and why. */
@API(status = STABLE, since = "0.1")
public class NibbleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what failed and why */
    public NibbleException(String message) {
        super(message);
    }

    /** @param message what failed and why @param cause the underlying error */
    public NibbleException(String message, Throwable cause) {
        super(message, cause);
    }
}
