package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.NibbleException;
import org.apiguardian.api.API;

/** A backend was asked for an operation it does not declare. */
@API(status = STABLE, since = "0.1")
public class UnsupportedCapabilityException extends NibbleException {
    private static final long serialVersionUID = 1L;
    private final transient Capability capability;

    /**
     * @param deviceId the device asked
     * @param capability what it lacks
     */
    public UnsupportedCapabilityException(String deviceId, Capability capability) {
        super("backend " + deviceId + " does not support " + capability.describe());
        this.capability = capability;
    }

    /** @return the missing capability */
    public Capability capability() {
        return capability;
    }
}
