package dev.nibble.methods.baseline;

import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.methods.core.MethodBase;
import dev.nibble.methods.core.Schemes;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Round to nearest: symmetric weights per output channel (or per group), dynamic symmetric
 * activations per token (or per token-group). The baseline every other method must beat.
 */
public final class RtnMethod extends MethodBase {
    static final String GROUP = "group-size";

    @Override
    public String id() {
        return "rtn";
    }

    @Override
    public String description() {
        return "round-to-nearest baseline: per-channel weights, dynamic per-token activations";
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
        return List.of(new OptionSpec(GROUP, "0",
                "weights and activations share a scale per group of this many input channels; 0 = per channel / per token"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        intOption(options, GROUP, 0, 1 << 20);
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        Precision p = options.precision();
        int g = intOption(options, GROUP, 0, 1 << 20);
        int n = layer.outFeatures();
        int k = layer.inFeatures();
        QuantScheme ws = g == 0 ? Schemes.weightPerChannel(p.weightBits()) : Schemes.weightGroup(p.weightBits(), g);
        QuantScheme as = g == 0 || !p.quantizesActivations() ? Schemes.activationPerToken(Math.min(8, p.activationBits()))
                : QuantScheme.symmetricGroup(p.activationBits(), g);
        return planFor(layer, options)
                .weight(quantizeWeight(layer.weight().toFloatArray(), n, k, ws))
                .activation(dynamicOrNone(p, as))
                .build();
    }
}
