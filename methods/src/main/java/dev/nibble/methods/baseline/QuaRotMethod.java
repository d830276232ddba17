package dev.nibble.methods.baseline;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.numerics.HadamardMatrices;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.Schemes;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * QuaRot (Ashkboos et al., NeurIPS 2024, arXiv 2404.00456), the RTN variant: a global Sylvester
 * Hadamard rotation over the whole K ({@code had_K ⊗ H_2^m} for the non-power-of-two orders of
 * {@link HadamardMatrices}) folded into the weights, then RTN weights per channel and dynamic
 * per-token activations.
 */
public final class QuaRotMethod extends MethodBase {
    static final String ACT_CLIP = "act-clip";

    @Override
    public String id() {
        return "quarot";
    }

    @Override
    public String description() {
        return "QuaRot (arXiv 2404.00456): global Hadamard rotation, RTN weights, dynamic per-token activations";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.allOf(Precision.class);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of();
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(new OptionSpec(ACT_CLIP, "1.0", "clip ratio of the activation range in (0, 1]"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        double c = doubleOption(options, ACT_CLIP, 0, 1);
        if (c == 0) {
            throw new InvalidInputException("method 'quarot': option '" + ACT_CLIP + "' must be > 0");
        }
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        Precision p = options.precision();
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        try {
            HadamardMatrices.decompose(k);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("method 'quarot', layer '" + layer.name() + "': " + e.getMessage());
        }
        Rotation r = Rotation.SylvesterHadamard.GLOBAL;
        float clip = (float) doubleOption(options, ACT_CLIP, 0, 1);
        return planFor(layer, options)
                .rotation(r)
                .weight(quantizeWeight(rotateWeight(layer.weight().toFloatArray(), n, k, r), n, k,
                        Schemes.weightPerChannel(p.weightBits())))
                .activation(dynamicOrNone(p, Schemes.activationPerToken(Math.min(8, p.activationBits())).withClipRatio(clip)))
                .build();
    }
}
