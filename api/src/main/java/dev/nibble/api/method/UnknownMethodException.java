package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.NibbleException;
import org.apiguardian.api.API;

/** No method with the requested id is on the path. */
@API(status = STABLE, since = "0.1")
public class UnknownMethodException extends NibbleException {
    private static final long serialVersionUID = 1L;

    /** @param message names the id and lists the known ones */
    public UnknownMethodException(String message) {
        super(message);
    }
}
