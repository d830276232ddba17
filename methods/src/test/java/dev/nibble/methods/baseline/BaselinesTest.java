package dev.nibble.methods.baseline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.Methods;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Nf4;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.TestData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BaselinesTest {
    private static final LinearLayer TINY = new LinearLayer("blocks.0.attn.proj", LayerRole.ATTENTION_PROJ,
            Tensor.ofFloats(new float[] {1, 0, 0, 0, 0, 0, 0, 2}, 2, 4), Tensor.ofFloats(new float[] {0.5f, -0.5f}, 2));

    @Test
    void everyMethodIsDiscoveredByTheServiceLoader() {
        assertThat(Methods.available().stream().map(Methods.MethodStatus::id))
                .contains("convrot", "svdquant", "tfmq", "qdit", "rtn", "smoothquant", "quarot", "nf4");
        assertThat(Methods.get("rtn")).isInstanceOf(RtnMethod.class);
    }

    @Test
    void rtnW8A8ByHand() {
        QuantizedLinear p = new RtnMethod().quantize(TINY, Calibration.none(), MethodOptions.of(Precision.W8A8));
        // x = [1,2,3,4]: scale 4/127, codes 32 (31.75), 64 (63.5, half to even), 95, 127
        float[] y = new PlanSimulator(p).forward(new float[] {1, 2, 3, 4}, 1, 0);
        assertThat(y[0]).isCloseTo(32 * 4f / 127 + 0.5f, within(1e-5f));
        assertThat(y[1]).isCloseTo(8 - 0.5f, within(1e-5f));
        assertThat(p.weight().scheme().granularity()).isEqualTo(dev.nibble.api.Granularity.PER_CHANNEL);
        assertThat(((ActivationQuant.Dynamic) p.activation()).scheme().bits()).isEqualTo(8);
    }

    @Test
    void rtnW4A16IsWeightOnly() {
        QuantizedLinear p = new RtnMethod().quantize(TINY, Calibration.none(), MethodOptions.of(Precision.W4A16));
        assertThat(p.activation()).isInstanceOf(ActivationQuant.None.class);
        assertThat(p.weight().scheme().bits()).isEqualTo(4);
    }

    @Test
    void smoothQuantFactorsByHandAndPlanStaysClose() {
        float[] s = SmoothQuantMethod.smoothing(new float[] {4, 1}, new float[] {1, 4, 0.5f, 2}, 2, 2, 0.5, 0.5);
        assertThat(s[0]).isCloseTo(2f, within(1e-6f)); // sqrt(4) / sqrt(1)
        assertThat(s[1]).isCloseTo(0.5f, within(1e-6f)); // sqrt(1) / sqrt(4)

        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 32, 64, 3);
        Calibration cal = TestData.simple(List.of(l), 32, 30, 1);
        QuantizedLinear sq = new SmoothQuantMethod().quantize(l, cal, MethodOptions.of(Precision.W8A8));
        QuantizedLinear rtn = new RtnMethod().quantize(l, cal, MethodOptions.of(Precision.W8A8));
        float[] x = TestData.activations(32, 64, 99, 30);
        float[] ref = PlanSimulator.reference(l, x, 32);
        assertThat(sq.smooth()).isNotNull();
        assertThat(Mat.sqnrDb(ref, new PlanSimulator(sq).forward(x, 32, 0)))
                .isGreaterThan(Mat.sqnrDb(ref, new PlanSimulator(rtn).forward(x, 32, 0)));
    }

    @Test
    void smoothQuantNeedsCalibrationAndRejectsWeightOnly() {
        assertThatThrownBy(() -> new SmoothQuantMethod().quantize(TINY, Calibration.none(), MethodOptions.of(Precision.W8A8)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("blocks.0.attn.proj");
        assertThatThrownBy(() -> new SmoothQuantMethod().quantize(TINY, Calibration.none(), MethodOptions.of(Precision.W4A16)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("W4A16");
        assertThatThrownBy(() -> new SmoothQuantMethod().quantize(TINY, Calibration.none(),
                MethodOptions.of(Precision.W8A8, Map.of("alpha", "1.5")))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'alpha'");
    }

    @Test
    void quaRotFoldsANonPowerOfTwoGlobalHadamard() {
        int k = 24; // 12 × 2
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 6, k, 9);
        QuantizedLinear p = new QuaRotMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W8A8));
        assertThat(p.rotation()).isEqualTo(Rotation.SylvesterHadamard.GLOBAL);
        float[] x = TestData.gaussian(4 * k, 10, 1);
        float[] xr = Hadamard.rotateRows(x, 4, k, p.rotation());
        float[] wr = Hadamard.rotateRows(l.weight().toFloatArray(), 6, k, p.rotation());
        float[] folded = Mat.matmulNT(xr, 4, k, wr, 6);
        float[] direct = Mat.matmulNT(x, 4, k, l.weight().toFloatArray(), 6);
        for (int i = 0; i < folded.length; i++) {
            assertThat(folded[i]).isCloseTo(direct[i], within(1e-4f));
        }
        assertThat(Mat.sqnrDb(PlanSimulator.reference(l, x, 4), new PlanSimulator(p).forward(x, 4, 0))).isGreaterThan(30);
    }

    @Test
    void quaRotRejectsAnOrderWithoutHadamardMatrix() {
        LinearLayer l = TestData.layer("blocks.3.mlp.fc2", LayerRole.MLP_FC2, 4, 14, 9);
        assertThatThrownBy(() -> new QuaRotMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("blocks.3.mlp.fc2");
    }

    @Test
    void nf4ByHandAndOnlyW4A16() {
        float[] w = {1, -0.5f, 0.25f, 0, -1, 0.7229568f, 0.1f, 0.33f};
        LinearLayer l = new LinearLayer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, Tensor.ofFloats(w, 1, 8), null);
        QuantizedLinear p = new Nf4Method().quantize(l, Calibration.none(),
                MethodOptions.of(Precision.W4A16, Map.of("block-size", "4")));
        assertThat(p.weight().scheme()).isEqualTo(QuantScheme.nf4(4));
        int[] codes = p.weight().codes().toIntArray();
        assertThat(codes[0]).isEqualTo(15); // 1.0
        assertThat(codes[1]).isEqualTo(Nf4.nearest(-0.5f));
        assertThat(codes[3]).isEqualTo(7); // 0.0
        assertThat(codes[4]).isEqualTo(0); // -1.0 (block absmax 1)
        assertThat(codes[5]).isEqualTo(14);
        assertThatThrownBy(() -> new Nf4Method().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("W4A4");
    }

    @Test
    void unknownOptionsAreNamed() {
        assertThatThrownBy(() -> new RtnMethod().quantize(TINY, Calibration.none(),
                MethodOptions.of(Precision.W4A4, Map.of("rank", "3")))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'rank'");
        assertThatThrownBy(() -> new RtnMethod().quantize(TINY, Calibration.none(),
                MethodOptions.of(Precision.W4A4, Map.of("group-size", "x")))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'group-size'");
    }

    @Test
    void defaultScopeIsTheBlockLinears() {
        RtnMethod m = new RtnMethod();
        MethodOptions o = MethodOptions.of(Precision.W4A4);
        assertThat(m.quantizes(TestData.layer("a", LayerRole.MLP_FC2, 2, 4, 1), o)).isTrue();
        assertThat(m.quantizes(TestData.layer("t", LayerRole.TIMESTEP_MLP, 2, 4, 1), o)).isFalse();
        assertThat(m.quantizes(TestData.layer("x", LayerRole.PATCH_EMBED, 2, 4, 1), o)).isFalse();
        assertThat(m.quantizes(TestData.layer("x", LayerRole.PATCH_EMBED, 2, 4, 1), o.with("scope", "all"))).isTrue();
    }
}
