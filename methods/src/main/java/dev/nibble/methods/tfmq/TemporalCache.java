package dev.nibble.methods.tfmq;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.methods.core.FakeQuant;
import dev.nibble.methods.core.PlanSimulator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * TFMQ's offline cache of a temporal layer's outputs, keyed by (sampling step, class): a layer of
 * the temporal information block sees only the timestep (and the class), a finite set, so its
 * output can be computed once in full precision and stored quantized. The contract a model
 * runner follows for a plan with metadata {@code tfmq.temporal=cache} (docs/methods/tfmq.md):
 * evaluate the plan's dense layer once per (step, class) before sampling, quantize each output row
 * symmetrically to {@code tfmq.cache.bits} bits with one scale per row, and look it up during
 * sampling instead of running the layer. This class is that contract in code, for the tests and
 * the quality report.
 */
public final class TemporalCache {
    /** Metadata key that marks a cached temporal layer. */
    public static final String MODE_KEY = "tfmq.temporal";
    /** Metadata key with the cache's bit width. */
    public static final String BITS_KEY = "tfmq.cache.bits";

    /** A cache key. @param step sampling step @param label class label */
    public record Key(int step, int label) {
    }

    private final Map<Key, float[]> entries = new HashMap<>();
    private final int bits;

    /** @param bits cache bit width (4 or 8) */
    public TemporalCache(int bits) {
        this.bits = bits;
    }

    /**
     * @param output FP output rows {@code [rows, n]}
     * @param rows rows
     * @param n width
     * @param bits 4 or 8
     * @return the rows as the cache stores them (symmetric, one scale per row)
     */
    public static float[] quantizeEntry(float[] output, int rows, int n, int bits) {
        return FakeQuant.apply(output, rows, n, QuantScheme.symmetric(bits, Granularity.PER_TOKEN));
    }

    /**
     * Computes and stores one entry.
     *
     * @param plan a dense plan marked for caching
     * @param key (step, class)
     * @param input the layer's input row for that key {@code [K]}
     */
    public void put(QuantizedLinear plan, Key key, float[] input) {
        float[] y = new PlanSimulator(plan).forward(input, 1, key.step());
        entries.put(key, quantizeEntry(y, 1, plan.outFeatures(), bits));
    }

    /**
     * @param key (step, class)
     * @return the cached output row
     */
    public Optional<float[]> get(Key key) {
        return Optional.ofNullable(entries.get(key)).map(float[]::clone);
    }

    /** @return number of entries */
    public int size() {
        return entries.size();
    }
}
