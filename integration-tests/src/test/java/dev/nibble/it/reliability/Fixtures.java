package dev.nibble.it.reliability;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.ProviderStatus;
import dev.nibble.api.numerics.Quantizer;
import java.util.List;
import java.util.Random;

/** Layer plans of every kind the methods produce, random inputs, and the backends to try them on. */
final class Fixtures {
    private Fixtures() {
    }

    /** @return "cpu" and, when an OpenCL device is available (PoCL on CI), its id */
    static List<String> backendIds() {
        return List.of("cpu", "opencl");
    }

    /** Opens a backend by family, skipping (with the probe's reason) when it is unavailable. */
    static KernelBackend open(String family) {
        ProviderStatus s = Backends.available().stream().filter(p -> p.id().equals(family)).findFirst().orElse(null);
        assumeTrue(s != null, () -> "no " + family + " provider on the class path");
        assumeTrue(s.available(), () -> family + " unavailable: " + s.probe().reason());
        return s.provider().open(s.probe().devices().getFirst(), java.util.Map.of());
    }

    static Tensor random(Random r, float scale, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    /** ConvRot W4A4, SVDQuant (group 64, smoothing, low rank), W8A8, NF4 weight-only, Q-DiT-style affine groups. */
    static List<QuantizedLinear> plans(int k, int n) {
        Random r = new Random(11);
        float[] smooth = new float[k];
        for (int i = 0; i < k; i++) {
            smooth[i] = 0.5f + r.nextFloat();
        }
        return List.of(
                QuantizedLinear.builder("convrot-w4a4", k, n).rotation(new Rotation.RegularHadamard(64))
                        .weight(Quantizer.quantize(random(r, 0.3f, n, k), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)))
                        .bias(random(r, 1f, 1, n).reshape(n)).build(),
                QuantizedLinear.builder("svdquant-w4a4-g64-r16", k, n).smooth(Tensor.ofFloats(smooth, k))
                        .weight(Quantizer.quantize(random(r, 0.3f, n, k), QuantScheme.symmetricGroup(4, 64)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 64)))
                        .lowRank(new LowRank(random(r, 0.05f, k, 16).to(DType.BF16), random(r, 0.05f, n, 16).to(DType.BF16)))
                        .build(),
                QuantizedLinear.builder("w8a8", k, n)
                        .weight(Quantizer.quantize(random(r, 0.3f, n, k), QuantScheme.symmetric(8, Granularity.PER_CHANNEL)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN))).build(),
                QuantizedLinear.builder("nf4-w4a16", k, n)
                        .weight(Quantizer.quantize(random(r, 0.3f, n, k), QuantScheme.nf4(64)))
                        .activation(new ActivationQuant.None()).build(),
                QuantizedLinear.builder("qdit-affine-g32", k, n)
                        .weight(Quantizer.quantize(random(r, 0.3f, n, k), QuantScheme.affine(4, Granularity.PER_GROUP, 32)))
                        .activation(new ActivationQuant.Dynamic(QuantScheme.affine(4, Granularity.PER_GROUP, 32))).build());
    }

    /** @return the layer's output bytes (bit patterns, so -0.0 and NaN payloads count) */
    static byte[] forward(KernelBackend b, PreparedLinear p, Tensor x) {
        try (DeviceTensor dx = b.upload(x); DeviceTensor y = p.forward(dx)) {
            return b.download(y).toByteArray();
        }
    }
}
