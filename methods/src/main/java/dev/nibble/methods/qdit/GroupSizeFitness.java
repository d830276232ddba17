package dev.nibble.methods.qdit;

/**
 * The objective of Q-DiT's group-size search: lower is better. Pluggable so that a caller with a
 * model at hand can score a whole assignment end to end (e.g. the denoiser's output error or a
 * Fréchet distance, as the paper does); the default scores layers independently.
 */
@FunctionalInterface
public interface GroupSizeFitness {
    /**
     * @param groupSizes one group size per layer in scope, in order
     * @return the error of that assignment (lower is better)
     */
    double evaluate(int[] groupSizes);
}
