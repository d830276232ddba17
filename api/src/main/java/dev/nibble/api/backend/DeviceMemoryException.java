package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.NibbleException;
import org.apiguardian.api.API;

/** A device ran out of memory or an allocation failed; the backend stays usable. */
@API(status = STABLE, since = "0.1")
public class DeviceMemoryException extends NibbleException {
    private static final long serialVersionUID = 1L;

    /** @param message what was being allocated, how much, and what the device reported */
    public DeviceMemoryException(String message) {
        super(message);
    }
}
