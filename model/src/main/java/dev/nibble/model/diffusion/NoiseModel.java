package dev.nibble.model.diffusion;

import dev.nibble.api.Tensor;

/** Predicts the noise in a batch: the DiT forward pass, or any stand-in for tests. */
@FunctionalInterface
public interface NoiseModel {
    /**
     * @param x F32 {@code [B, C, H, W]}
     * @param t one timestep per image
     * @param y one label per image (the null class for the unconditional half)
     * @param step the sampling step index, 0 for the first (noisiest) step
     * @return F32 {@code [B, C', H, W]}; the first C channels are epsilon
     */
    Tensor predict(Tensor x, long[] t, long[] y, int step);
}
