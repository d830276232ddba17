package dev.nibble.model.checkpoint;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.LowRank;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A small method for the model tests (the real ones live in dev.nibble.methods): block linears get
 * RTN weights with a regular-Hadamard rotation, smoothing, a rank-2 branch and dynamic per-token
 * activations; temporal layers get per-step static tables from the calibration. It exercises every
 * part of the checkpoint format.
 */
class TestRtnMethod implements QuantMethod {
    @Override
    public String id() {
        return "test-rtn";
    }

    @Override
    public String description() {
        return "test method";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.of(Precision.W4A8, Precision.W8A8);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of(Requirement.PER_TIMESTEP_CALIBRATION);
    }

    @Override
    public List<OptionSpec> options() {
        return List.of(new OptionSpec("group-size", "0", "weight group size, 0 = per channel"));
    }

    @Override
    public boolean quantizes(LinearLayer layer, MethodOptions options) {
        return layer.role().isBlockLinear() || layer.role().isTemporal();
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        int g = options.getInt("group-size", 0);
        int k = layer.inFeatures();
        int bits = options.precision().weightBits();
        Rotation rot = layer.role().isBlockLinear() && k % 16 == 0 ? new Rotation.RegularHadamard(16) : new Rotation.Identity();
        float[] smooth = new float[k];
        java.util.Arrays.fill(smooth, 1f);
        smooth[0] = 2f;
        float[] w = layer.weight().to(DType.F32).toFloatArray();
        for (int n = 0; n < layer.outFeatures(); n++) {
            for (int j = 0; j < k; j++) {
                w[n * k + j] *= smooth[j];
            }
        }
        Tensor wr = Hadamard.rotate(Tensor.ofFloats(w, layer.outFeatures(), k), rot);
        QuantScheme ws = g > 0 ? QuantScheme.affine(bits, Granularity.PER_GROUP, g).asStatic()
                : QuantScheme.symmetric(bits, Granularity.PER_CHANNEL).asStatic();
        QuantizedLinear.Builder b = QuantizedLinear.builder(layer.name(), k, layer.outFeatures())
                .rotation(rot).smooth(Tensor.ofFloats(smooth, k)).weight(Quantizer.quantize(wr, ws)).bias(layer.bias())
                .meta("method", id());
        if (layer.role().isTemporal()) {
            QuantScheme as = QuantScheme.symmetric(8, Granularity.PER_TENSOR).asStatic();
            List<Integer> steps = calibration.steps();
            float[] scales = new float[Math.max(1, steps.size())];
            java.util.Arrays.fill(scales, 0.05f);
            var lc = calibration.layer(layer.name());
            for (int s = 0; s < steps.size() && lc.isPresent(); s++) {
                float[] x = lc.get().inputs(steps.get(s)).orElseThrow().toFloatArray();
                float m = 1e-6f;
                for (float v : x) {
                    m = Math.max(m, Math.abs(v / smooth[0 % k]));
                }
                scales[s] = m / 127f;
            }
            b.activation(new ActivationQuant.StaticTable(as, scales, new int[scales.length]));
        } else {
            b.activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN)));
            int kt = rot.outputDim(k);
            float[] down = new float[kt * 2];
            float[] up = new float[layer.outFeatures() * 2];
            for (int i = 0; i < down.length; i++) {
                down[i] = (i % 7 - 3) * 1e-3f;
            }
            for (int i = 0; i < up.length; i++) {
                up[i] = (i % 5 - 2) * 1e-3f;
            }
            b.lowRank(new LowRank(Tensor.ofFloats(down, kt, 2).to(DType.F16), Tensor.ofFloats(up, layer.outFeatures(), 2).to(DType.BF16)));
            b.shift(Tensor.ofFloats(new float[k], k));
        }
        return b.build();
    }
}
