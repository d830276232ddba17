package dev.nibble.methods.convrot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.TestData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConvRotTest {

    @Test
    void regularHadamardKeepsATokenWideOffsetFlatByHand() {
        // W = [1,1,1,1]: W·R = [1,1,1,1] (column sums of H4 are 2, / 2); x = [2,2,2,2]: x·R = [2,2,2,2]
        LinearLayer l = new LinearLayer("blocks.0.attn.proj", LayerRole.ATTENTION_PROJ,
                Tensor.ofFloats(new float[] {1, 1, 1, 1}, 1, 4), null);
        QuantizedLinear p = new ConvRotMethod().quantize(l, Calibration.none(),
                MethodOptions.of(Precision.W4A4, Map.of("block-size", "4")));
        assertThat(p.rotation()).isEqualTo(new Rotation.RegularHadamard(4));
        assertThat(p.weight().codes().toIntArray()).containsExactly(7, 7, 7, 7);
        assertThat(p.weight().scales().toFloatArray()[0]).isEqualTo(1f / 7);
        PlanSimulator sim = new PlanSimulator(p);
        assertThat(sim.transform(new float[] {2, 2, 2, 2}, 1)).containsExactly(2, 2, 2, 2);
        assertThat(sim.forward(new float[] {2, 2, 2, 2}, 1, 0)[0]).isCloseTo(8f, within(1e-5f));
        // a Sylvester block piles the same offset into one channel: √4 × larger
        assertThat(Hadamard.rotateRows(new float[] {2, 2, 2, 2}, 1, 4, new Rotation.SylvesterHadamard(4)))
                .containsExactly(4, 0, 0, 0);
        assertThat(((ActivationQuant.Dynamic) p.activation()).scheme().qmin()).isEqualTo(-8);
    }

    @Test
    void rotationFoldsExactlyIncludingZeroPadding() {
        for (int[] kc : new int[][] {{256, 256}, {96, 64}}) {
            int k = kc[0];
            Rotation.RegularHadamard r = ConvRotMethod.rotationFor(k, kc[1], false);
            int kp = r.outputDim(k);
            float[] w = TestData.gaussian(8 * k, 1, 0.1);
            float[] x = TestData.activations(5, k, 2, 20);
            float[] xr = Hadamard.rotateRows(x, 5, k, r);
            float[] wr = Hadamard.rotateRows(w, 8, k, r);
            float[] folded = Mat.matmulNT(xr, 5, kp, wr, 8);
            float[] direct = Mat.matmulNT(x, 5, k, w, 8);
            assertThat(Mat.nmse(direct, folded)).isLessThan(1e-11);
        }
        assertThat(ConvRotMethod.rotationFor(384, 256, true).blockSize()).isEqualTo(64);
        assertThat(ConvRotMethod.rotationFor(384, 256, false).outputDim(384)).isEqualTo(512);
    }

    @Test
    void beatsRtnOnOffsetTokensAtW4A4() {
        int k = 256;
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 64, k, 4);
        float[] x = TestData.activations(64, k, 5, 10);
        for (int r = 0; r < 64; r += 4) {
            for (int j = 0; j < k; j++) {
                x[r * k + j] += 8;
            }
        }
        float[] ref = PlanSimulator.reference(l, x, 64);
        MethodOptions o = MethodOptions.of(Precision.W4A4);
        double conv = Mat.sqnrDb(ref, new PlanSimulator(new ConvRotMethod().quantize(l, Calibration.none(), o)).forward(x, 64, 0));
        double rtn = Mat.sqnrDb(ref, new PlanSimulator(new dev.nibble.methods.baseline.RtnMethod()
                .quantize(l, Calibration.none(), o)).forward(x, 64, 0));
        assertThat(conv).isGreaterThan(rtn + 1); // W4 weight error dominates both at this size
        MethodOptions w8 = MethodOptions.of(Precision.W8A8);
        double conv8 = Mat.sqnrDb(ref, new PlanSimulator(new ConvRotMethod().quantize(l, Calibration.none(), w8)).forward(x, 64, 0));
        double quarot8 = Mat.sqnrDb(ref, new PlanSimulator(new dev.nibble.methods.baseline.QuaRotMethod()
                .quantize(l, Calibration.none(), w8)).forward(x, 64, 0));
        assertThat(conv8).isGreaterThan(quarot8 + 5); // Sylvester piles the offset into one channel
    }

    @Test
    void mixedPrecisionKeepsTheWorstLayersAtInt8() {
        List<LinearLayer> layers = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            layers.add(TestData.layer("blocks." + i + ".mlp.fc1", LayerRole.MLP_FC1, 16, 64, 10 + i));
        }
        layers.add(TestData.layer("t_embedder.mlp.0", LayerRole.TIMESTEP_MLP, 16, 64, 3)); // out of scope
                Map<String, Map<Integer, float[]>> rows = new java.util.HashMap<>();
        for (int i = 0; i < 5; i++) {
            rows.put(layers.get(i).name(), Map.of(0, TestData.activations(16, 64, 20 + i, i == 2 ? 400 : 2)));
        }
        Calibration cal = TestData.calibration(rows, 64);
        List<long[]> seen = new ArrayList<>();
        List<QuantizedLinear> plans = new ConvRotMethod().quantizeAll(layers, cal, MethodOptions.of(Precision.W4A4),
                (d, t, m) -> seen.add(new long[] {d, t}));
        assertThat(plans).hasSize(5);
        int worst = 0;
        for (int i = 0; i < 5; i++) {
            if (Double.parseDouble(plans.get(i).metadata().get("convrot.w4-error"))
                    > Double.parseDouble(plans.get(worst).metadata().get("convrot.w4-error"))) {
                worst = i;
            }
        }
        assertThat(plans.get(worst).metadata()).containsEntry("convrot.mixed", "int8")
                .containsEntry("convrot.error-metric", "output-nmse");
        assertThat(plans.get(worst).weight().scheme().bits()).isEqualTo(8);
        assertThat(((ActivationQuant.Dynamic) plans.get(worst).activation()).scheme().bits()).isEqualTo(8);
        // the recorded error is the W4A4 plan's measured output error
        QuantizedLinear w4 = new ConvRotMethod().quantize(layers.get(worst), cal, MethodOptions.of(Precision.W4A4));
        assertThat(Double.parseDouble(plans.get(worst).metadata().get("convrot.w4-error"))).isCloseTo(
                ConvRotMethod.measuredError(layers.get(worst), w4, cal.layer(layers.get(worst).name()), 256),
                within(1e-6));
        assertThat(plans.stream().filter(p -> p.weight().scheme().bits() == 8)).hasSize(1);
        assertThat(seen).isNotEmpty();
        assertThat(seen.getLast()[0]).isEqualTo(seen.getLast()[1]);
        // no calibration: weight error decides, still one layer of five
        List<QuantizedLinear> noCal = new ConvRotMethod().quantizeAll(layers, Calibration.none(),
                MethodOptions.of(Precision.W4A4), ProgressListener.NONE);
        assertThat(noCal.stream().filter(p -> p.weight().scheme().bits() == 8)).hasSize(1);
        assertThat(noCal.getFirst().metadata()).containsEntry("convrot.error-metric", "weight-nmse");
    }

    @Test
    void badOptionsAreNamed() {
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 4, 16, 1);
        assertThatThrownBy(() -> new ConvRotMethod().quantize(l, Calibration.none(),
                MethodOptions.of(Precision.W4A4, Map.of("block-size", "8")))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'block-size'");
        assertThatThrownBy(() -> new ConvRotMethod().quantize(l, Calibration.none(),
                MethodOptions.of(Precision.W4A4, Map.of("int8-fraction", "2")))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'int8-fraction'");
    }

    @Test
    void supportsEveryPrecision() {
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 8, 64, 1);
        for (Precision p : Precision.values()) {
            QuantizedLinear q = new ConvRotMethod().quantize(l, Calibration.none(), MethodOptions.of(p));
            assertThat(q.weight().scheme().bits()).isEqualTo(p.weightBits());
            assertThat(q.activation() instanceof ActivationQuant.None).isEqualTo(!p.quantizesActivations());
        }
    }
}
