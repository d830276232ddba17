package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/** An argument (a tensor's shape or type, an option) does not fit the operation; the message names it. */
@API(status = STABLE, since = "0.1")
public class InvalidInputException extends NibbleException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, naming the tensor, layer or option */
    public InvalidInputException(String message) {
        super(message);
    }
}
