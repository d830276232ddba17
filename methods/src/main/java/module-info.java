/** Quantization methods: ConvRot, SVDQuant, TFMQ, Q-DiT and the baselines. */
module dev.nibble.methods {
    requires dev.nibble.api;
}
