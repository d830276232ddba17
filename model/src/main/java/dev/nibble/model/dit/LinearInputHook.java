package dev.nibble.model.dit;

import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;

/** Sees the input of every linear layer as the runner executes it (calibration capture, debugging). */
@FunctionalInterface
public interface LinearInputHook {
    /**
     * @param layer the layer name (as in {@link DitLayers})
     * @param step the sampling step index passed to the forward pass
     * @param input the layer's input {@code [..., K]}, valid only during the call
     * @param backend the backend that holds it (to download what is needed)
     */
    void onInput(String layer, int step, DeviceTensor input, KernelBackend backend);
}
