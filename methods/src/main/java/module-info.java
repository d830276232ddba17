/**
 * Quantization methods: ConvRot, SVDQuant, TFMQ, Q-DiT and the baselines RTN, SmoothQuant,
 * QuaRot and NF4, each a {@link dev.nibble.api.method.QuantMethodProvider}. Exports only the
 * quality report generator (used by {@code nibble quality}).
 */
module dev.nibble.methods {
    requires dev.nibble.api;

    exports dev.nibble.methods.quality;

    provides dev.nibble.api.method.QuantMethodProvider with
            dev.nibble.methods.ConvRotProvider,
            dev.nibble.methods.SvdQuantProvider,
            dev.nibble.methods.TfmqProvider,
            dev.nibble.methods.QDitProvider,
            dev.nibble.methods.RtnProvider,
            dev.nibble.methods.SmoothQuantProvider,
            dev.nibble.methods.QuaRotProvider,
            dev.nibble.methods.Nf4Provider;
}
