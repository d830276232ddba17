package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Which elements share one scale (and zero point). Rows are the flattened leading dimensions of a
 * tensor: tokens for activations, output channels for weights ({@code [N, K]}).
 */
@API(status = STABLE, since = "0.1")
public enum Granularity {
    /** One scale for the whole tensor. Scales shape {@code [1]}. */
    PER_TENSOR,
    /** One scale per output channel of a weight (per row). Scales shape {@code [rows]}. */
    PER_CHANNEL,
    /** One scale per token of an activation (per row). Scales shape {@code [rows]}. */
    PER_TOKEN,
    /**
     * One scale per row and group of {@code g} consecutive elements along K. Scales shape
     * {@code [rows, ceil(K / g)]}; the last group of a row may be short.
     */
    PER_GROUP;

    /** @return true for PER_CHANNEL and PER_TOKEN, which share one layout: a scale per row */
    public boolean isPerRow() {
        return this == PER_CHANNEL || this == PER_TOKEN;
    }
}
