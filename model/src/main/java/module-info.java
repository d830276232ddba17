/** safetensors I/O, quantized checkpoints, the DiT model, samplers, calibration capture, image metrics. */
module dev.nibble.model {
    requires dev.nibble.api;
}
