package dev.nibble.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.numerics.Quantizer;
import org.junit.jupiter.api.Test;

class QuantizedLinearTest {

    @Test
    void validatesShapesAgainstRotationPadding() {
        Tensor w = Tensor.allocate(DType.F32, Shape.of(3, 20));
        QuantizedTensor q = Quantizer.quantize(Tensor.allocate(DType.F32, Shape.of(3, 32)),
                QuantScheme.symmetric(4, Granularity.PER_CHANNEL));
        QuantizedLinear ok = QuantizedLinear.builder("l", 20, 3).rotation(new Rotation.RegularHadamard(16)).weight(q)
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN))).build();
        assertThat(ok.transformedInFeatures()).isEqualTo(32);
        assertThatThrownBy(() -> QuantizedLinear.builder("blocks.0.attn.qkv", 20, 3).weight(q).build())
                .hasMessageContaining("blocks.0.attn.qkv").hasMessageContaining("[3, 20]");
        assertThatThrownBy(() -> QuantizedLinear.builder("l", 20, 3).denseWeight(w)
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN))).build())
                .hasMessageContaining("dense weight cannot be combined");
        assertThatThrownBy(() -> QuantizedLinear.builder("l", 20, 3).denseWeight(w)
                .bias(Tensor.ofFloats(new float[] {1f, 2f}, 2)).build()).hasMessageContaining("bias");
    }

    @Test
    void schemeValidation() {
        assertThatThrownBy(() -> QuantScheme.symmetric(3, Granularity.PER_TOKEN)).hasMessageContaining("4 or 8");
        assertThatThrownBy(() -> new QuantScheme(QuantScheme.Format.INT, 4, true, true, Granularity.PER_GROUP, 0,
                false, 1f, true)).hasMessageContaining("groupSize");
        assertThat(QuantScheme.symmetric(4, Granularity.PER_TOKEN).qmin()).isEqualTo(-8);
        assertThat(QuantScheme.symmetric(4, Granularity.PER_TOKEN).withNarrowRange().qmin()).isEqualTo(-7);
        assertThat(QuantScheme.affine(8, Granularity.PER_TOKEN, 0).qmax()).isEqualTo(255);
        assertThat(QuantScheme.symmetricGroup(4, 64).describe()).isEqualTo("int4-sym-g64-dyn");
    }

    @Test
    void tensorF16Bf16RoundTrip() {
        Tensor t = Tensor.ofFloats(new float[] {1.5f, -2.25f, 65504f}, 3);
        assertThat(t.to(DType.F16).to(DType.F32).toFloatArray()).containsExactly(1.5f, -2.25f, 65504f);
        assertThat(t.to(DType.BF16).toFloatArray()).containsExactly(1.5f, -2.25f, 65536f);
        assertThatThrownBy(() -> Tensor.ofFloats(new float[] {1f}, 2)).hasMessageContaining("do not fill");
    }
}
