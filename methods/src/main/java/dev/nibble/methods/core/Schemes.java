package dev.nibble.methods.core;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;

/** The quantization schemes the methods share. */
public final class Schemes {
    private Schemes() {
    }

    /**
     * @param bits 4 or 8
     * @return static symmetric per-output-channel weights, scale = max|w| / qmax, codes in [-qmax, qmax]
     */
    public static QuantScheme weightPerChannel(int bits) {
        return QuantScheme.symmetric(bits, Granularity.PER_CHANNEL).withNarrowRange().asStatic();
    }

    /**
     * @param bits 4 or 8
     * @param group elements per group along K
     * @return static symmetric per-(channel, group) weights in [-qmax, qmax]
     */
    public static QuantScheme weightGroup(int bits, int group) {
        return QuantScheme.symmetricGroup(bits, group).withNarrowRange().asStatic();
    }

    /**
     * @param bits 4 or 8
     * @return dynamic symmetric per-token activations over the full range ([-8, 7] for 4 bits)
     */
    public static QuantScheme activationPerToken(int bits) {
        return QuantScheme.symmetric(bits, Granularity.PER_TOKEN);
    }
}
