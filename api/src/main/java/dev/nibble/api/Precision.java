package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/** Weight and activation bit widths of a quantized layer. */
@API(status = STABLE, since = "0.1")
public enum Precision {
    /** 4-bit weights, 4-bit activations. */
    W4A4(4, 4),
    /** 4-bit weights, 8-bit activations. */
    W4A8(4, 8),
    /** 8-bit weights, 8-bit activations. */
    W8A8(8, 8),
    /** 4-bit weights, 16-bit (unquantized) activations. */
    W4A16(4, 16);

    private final int weightBits;
    private final int activationBits;

    Precision(int weightBits, int activationBits) {
        this.weightBits = weightBits;
        this.activationBits = activationBits;
    }

    /** @return bits per weight */
    public int weightBits() {
        return weightBits;
    }

    /** @return bits per activation (16: not quantized) */
    public int activationBits() {
        return activationBits;
    }

    /** @return true when activations are quantized */
    public boolean quantizesActivations() {
        return activationBits <= 8;
    }

    /**
     * @param s a name such as {@code w4a4} (any case)
     * @return the precision
     * @throws IllegalArgumentException listing the valid names
     */
    public static Precision parse(String s) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(s.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + s + "': use one of w4a4, w4a8, w8a8, w4a16");
    }
}
