/** safetensors I/O, quantized checkpoints, the DiT model, samplers, calibration capture, image metrics. */
module dev.nibble.model {
    requires transitive dev.nibble.api;
    requires com.fasterxml.jackson.databind;

    exports dev.nibble.model.safetensors;
    exports dev.nibble.model.checkpoint;
    exports dev.nibble.model.dit;
    exports dev.nibble.model.diffusion;
    exports dev.nibble.model.calibration;
    exports dev.nibble.model.metrics;
    exports dev.nibble.model.image;
    exports dev.nibble.model.demo;
    exports dev.nibble.model.eval;
}
