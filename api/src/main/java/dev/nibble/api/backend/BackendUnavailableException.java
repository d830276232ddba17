package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.NibbleException;
import org.apiguardian.api.API;

/** A requested backend or device cannot be used; carries the probe's reason and remedy. */
@API(status = STABLE, since = "0.1")
public class BackendUnavailableException extends NibbleException {
    private static final long serialVersionUID = 1L;
    private final String reason;
    private final String remedy;

    /**
     * @param what the backend or device asked for
     * @param reason why it cannot be used
     * @param remedy what to do about it (may be empty)
     */
    public BackendUnavailableException(String what, String reason, String remedy) {
        super("[ERROR] backend '" + what + "' is not available\n[CAUSE] " + reason
                + (remedy == null || remedy.isEmpty() ? "" : "\n[FIX] " + remedy));
        this.reason = reason;
        this.remedy = remedy == null ? "" : remedy;
    }

    /** @return why it cannot be used */
    public String reason() {
        return reason;
    }

    /** @return what to do about it */
    public String remedy() {
        return remedy;
    }
}
