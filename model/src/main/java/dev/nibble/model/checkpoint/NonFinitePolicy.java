package dev.nibble.model.checkpoint;

import dev.nibble.api.InvalidInputException;
import java.util.Locale;

/**
 * What {@link ModelQuantizer} does when a weight or bias it is about to quantize holds NaN or an
 * infinity (a damaged or badly exported checkpoint): quantizing it would silently give a layer
 * whose scale, and so every output, is NaN.
 */
public enum NonFinitePolicy {
    /** Refuse with an {@link InvalidInputException} naming the tensor, the count and the first index (the default). */
    FAIL,
    /**
     * Log a warning naming the tensor and quantize a copy in which NaN is 0 and ±infinity is the
     * tensor's largest (smallest) finite value.
     */
    CLAMP;

    /**
     * @param text {@code fail} or {@code clamp}, any case
     * @return the policy
     * @throws InvalidInputException if the text is neither
     */
    public static NonFinitePolicy parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("non-finite weight policy must be 'fail' or 'clamp', got '" + text + "'");
        }
    }
}
