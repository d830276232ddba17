package dev.nibble.methods.baseline;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.methods.core.MethodBase;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * NF4 weight-only quantization (QLoRA, Dettmers et al., NeurIPS 2023, arXiv 2305.14314): each block
 * of 64 weights along K is scaled by its absmax and rounded to the nearest NormalFloat-4 value.
 */
public final class Nf4Method extends MethodBase {
    static final String BLOCK = "block-size";

    @Override
    public String id() {
        return "nf4";
    }

    @Override
    public String description() {
        return "NF4 weight-only (QLoRA, arXiv 2305.14314): NormalFloat-4 codes, absmax per block of 64, W4A16";
    }

    @Override
    public Set<Precision> precisions() {
        return EnumSet.of(Precision.W4A16);
    }

    @Override
    public Set<Requirement> requirements(MethodOptions options) {
        return Set.of();
    }

    @Override
    protected List<OptionSpec> methodOptions() {
        return List.of(new OptionSpec(BLOCK, "64", "weights per absmax block along K"));
    }

    @Override
    protected String defaultScope() {
        return "blocks";
    }

    @Override
    protected void checkOptions(MethodOptions options) {
        intOption(options, BLOCK, 1, 1 << 20);
    }

    @Override
    public QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options) {
        check(options);
        int block = intOption(options, BLOCK, 1, 1 << 20);
        return planFor(layer, options)
                .weight(quantizeWeight(layer.weight().toFloatArray(), layer.outFeatures(), layer.inFeatures(),
                        QuantScheme.nf4(block)))
                .activation(new ActivationQuant.None())
                .build();
    }
}
