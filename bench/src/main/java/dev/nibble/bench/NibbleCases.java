package dev.nibble.bench;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Quantizer;

/** Nibble's own GEMMs, through the public KernelBackend API of the selected backend. */
final class NibbleCases {
    private NibbleCases() {
    }

    static final QuantScheme W8 = QuantScheme.symmetric(8, Granularity.PER_CHANNEL);
    static final QuantScheme A8 = QuantScheme.symmetric(8, Granularity.PER_TOKEN);
    static final QuantScheme W4 = QuantScheme.symmetric(4, Granularity.PER_CHANNEL);
    static final QuantScheme A4 = QuantScheme.symmetric(4, Granularity.PER_TOKEN);
    static final QuantScheme G64 = QuantScheme.symmetricGroup(4, 64);
    static final QuantScheme NF4 = QuantScheme.nf4(64);

    private static Tensor x(GemmShape s) {
        return Tensor.ofFloats(s.activations(), s.m(), s.k());
    }

    private static Tensor w(GemmShape s) {
        return Tensor.ofFloats(s.weights(), s.n(), s.k());
    }

    /** {@code backend.gemm(x, w)} in float32: the baseline every ratio divides by. */
    static GemmCase f32(KernelBackend backend, GemmShape s) {
        DeviceTensor x = backend.upload(x(s));
        DeviceTensor w = backend.upload(w(s));
        return new GemmCase() {
            @Override
            public Object run() {
                try (DeviceTensor y = backend.gemm(x, w)) {
                    return y.shape();
                }
            }

            @Override
            public void close() {
                x.close();
                w.close();
            }
        };
    }

    /**
     * The fused layer, float in and float out: dynamic activation quantization, integer GEMM,
     * dequantization ({@code PreparedLinear.forward}), identity rotation, no bias.
     */
    static GemmCase fused(KernelBackend backend, GemmShape s, QuantScheme weights, QuantScheme activations) {
        QuantizedLinear plan = QuantizedLinear.builder("bench", s.k(), s.n())
                .weight(Quantizer.quantize(w(s), weights))
                .activation(new ActivationQuant.Dynamic(activations))
                .build();
        return layerCase(backend, plan, s);
    }

    /** {@code gemmQuantized} on activations quantized once in setup: the integer kernel alone. */
    static GemmCase kernel(KernelBackend backend, GemmShape s, QuantScheme weights, QuantScheme activations) {
        DeviceQuantized w = backend.upload(Quantizer.quantize(w(s), weights));
        DeviceQuantized a;
        try (DeviceTensor x = backend.upload(x(s))) {
            a = backend.quantize(x, activations);
        }
        return new GemmCase() {
            @Override
            public Object run() {
                try (DeviceTensor y = backend.gemmQuantized(a, w)) {
                    return y.shape();
                }
            }

            @Override
            public void close() {
                a.close();
                w.close();
            }
        };
    }

    /**
     * The weight-only layer (W4A16): float activations against 4-bit weights laid out once by
     * {@code prepare} ({@code ActivationQuant.None}), dequantized on the fly inside the GEMM.
     */
    static GemmCase weightOnlyLayer(KernelBackend backend, GemmShape s, QuantScheme weights) {
        QuantizedLinear plan = QuantizedLinear.builder("bench", s.k(), s.n())
                .weight(Quantizer.quantize(w(s), weights))
                .activation(new ActivationQuant.None())
                .build();
        return layerCase(backend, plan, s);
    }

    /** {@code gemmWeightOnly}: float activations, 4-bit group-64 weights dequantized on the fly (W4A16). */
    static GemmCase weightOnly(KernelBackend backend, GemmShape s, QuantScheme weights) {
        DeviceQuantized w = backend.upload(Quantizer.quantize(w(s), weights));
        DeviceTensor x = backend.upload(x(s));
        return new GemmCase() {
            @Override
            public Object run() {
                try (DeviceTensor y = backend.gemmWeightOnly(x, w)) {
                    return y.shape();
                }
            }

            @Override
            public void close() {
                x.close();
                w.close();
            }
        };
    }

    /** {@code PreparedLinear.forward} of {@code plan}, prepared once, on one activation tensor. */
    private static GemmCase layerCase(KernelBackend backend, QuantizedLinear plan, GemmShape s) {
        PreparedLinear layer = backend.prepare(plan);
        DeviceTensor x = backend.upload(x(s));
        return new GemmCase() {
            @Override
            public Object run() {
                try (DeviceTensor y = layer.forward(x)) {
                    return y.shape();
                }
            }

            @Override
            public void close() {
                x.close();
                layer.close();
            }
        };
    }
}
