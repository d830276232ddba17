package dev.nibble.methods.svdquant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.numerics.Quantizer;
import dev.nibble.methods.baseline.RtnMethod;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.TestData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SvdQuantTest {
    private static final Map<String, String> FAST = Map.of("alpha-step", "0.25", "rank", "8", "refine-iters", "3");

    @Test
    void candidateGridIsTheUnionOfThePapersThreeFamilies() {
        List<double[]> c = SvdQuantMethod.candidates(0.05);
        assertThat(c).hasSize(1 + 19 + 19);
        assertThat(c.getFirst()).containsExactly(0, 0);
        assertThat(c).anyMatch(ab -> Math.abs(ab[0] - 0.5) < 1e-9 && ab[1] == 0);
        assertThat(c).anyMatch(ab -> Math.abs(ab[0] - 0.95) < 1e-9 && Math.abs(ab[1] - 0.05) < 1e-9);
    }

    @Test
    void lowRankPlusResidualReproducesTheSmoothedWeightWithinTheQuantizationBound() {
        int n = 48;
        int k = 128;
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, n, k, 2);
        Calibration cal = TestData.simple(List.of(l), 32, 25, 1);
        QuantizedLinear p = new SvdQuantMethod().quantize(l, cal, MethodOptions.of(Precision.W4A4, FAST));
        assertThat(p.lowRank().rank()).isEqualTo(8);
        assertThat(p.lowRank().down().dtype()).isEqualTo(DType.F16);
        float[] w = l.weight().toFloatArray();
        float[] s = p.smooth() == null ? null : p.smooth().toFloatArray();
        float[] up = p.lowRank().up().toFloatArray();
        float[] down = p.lowRank().down().toFloatArray();
        float[] lr = Mat.matmulNT(up, n, 8, down, k);
        float[] res = Quantizer.dequantize(p.weight()).toFloatArray();
        float[] scales = p.weight().scales().toFloatArray();
        for (int o = 0; o < n; o++) {
            for (int j = 0; j < k; j++) {
                float ws = w[o * k + j] * (s == null ? 1 : s[j]);
                float bound = scales[o * (k / 64) + j / 64] / 2;
                assertThat(Math.abs(ws - lr[o * k + j] - res[o * k + j])).isLessThanOrEqualTo(bound * 1.0001f + 1e-6f);
            }
        }
        assertThat(p.weight().scheme().groupSize()).isEqualTo(64);
        assertThat(p.weight().scheme().qmin()).isEqualTo(-7);
        assertThat(((ActivationQuant.Dynamic) p.activation()).scheme().groupSize()).isEqualTo(64);
    }

    @Test
    void refinementNeverIncreasesTheWeightError() {
        float[] w = TestData.gaussian(32 * 64, 3, 1);
        w[5] = 40;
        w[700] = -35;
        var scheme = dev.nibble.api.QuantScheme.symmetricGroup(4, 64).withNarrowRange().asStatic();
        LowRankResidual once = LowRankResidual.decompose(w, 32, 64, 4, scheme, 0);
        LowRankResidual refined = LowRankResidual.decompose(w, 32, 64, 4, scheme, 5);
        assertThat(refined.error()).isLessThanOrEqualTo(once.error());
    }

    @Test
    void beatsRtnAtW4A4OnOutlierActivations() {
        int k = 128;
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 64, k, 6);
        Calibration cal = TestData.simple(List.of(l), 64, 40, 1);
        float[] x = TestData.activations(64, k, l.name().hashCode(), 40);
        float[] ref = PlanSimulator.reference(l, x, 64);
        MethodOptions o = MethodOptions.of(Precision.W4A4, FAST);
        double svd = Mat.sqnrDb(ref, new PlanSimulator(new SvdQuantMethod().quantize(l, cal, o)).forward(x, 64, 0));
        double rtn = Mat.sqnrDb(ref, new PlanSimulator(new RtnMethod().quantize(l, cal, MethodOptions.of(Precision.W4A4)))
                .forward(x, 64, 0));
        assertThat(svd).isGreaterThan(rtn + 3);
    }

    @Test
    void fc2ShiftMakesInputsNonNegativeAndTheBiasAbsorbsIt() {
        int k = 64;
        LinearLayer l = TestData.layer("blocks.0.mlp.fc2", LayerRole.MLP_FC2, 16, k, 8);
        float[] x = TestData.gaussian(32 * k, 9, 1);
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.max(x[i], -0.17f); // GELU-like floor
        }
        Calibration cal = TestData.calibration(Map.of(l.name(), Map.of(0, x)), k);
        QuantizedLinear p = new SvdQuantMethod().quantize(l, cal,
                MethodOptions.of(Precision.W8A8, Map.of("shift-fc2", "true", "alpha-step", "0.5", "rank", "4")));
        assertThat(p.shift()).isNotNull();
        var scheme = ((ActivationQuant.Dynamic) p.activation()).scheme();
        assertThat(scheme.signed()).isFalse();
        PlanSimulator sim = new PlanSimulator(p);
        float[] xt = sim.transform(x, 32);
        for (float v : xt) {
            assertThat(v).isGreaterThanOrEqualTo(-1e-6f);
        }
        assertThat(Mat.sqnrDb(PlanSimulator.reference(l, x, 32), sim.forward(x, 32, 0))).isGreaterThan(25);
    }

    @Test
    void adaLnIsWeightOnlyWithoutCalibrationAndBlocksNeedIt() {
        LinearLayer ada = TestData.layer("blocks.0.adaLN_modulation.1", LayerRole.ADALN_MODULATION, 24, 64, 1);
        LinearLayer qkv = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 24, 64, 2);
        SvdQuantMethod m = new SvdQuantMethod();
        MethodOptions o = MethodOptions.of(Precision.W4A4, FAST);
        assertThat(m.quantizes(ada, o)).isTrue();
        QuantizedLinear p = m.quantize(ada, Calibration.none(), o);
        assertThat(p.activation()).isInstanceOf(ActivationQuant.None.class);
        assertThat(p.metadata()).containsEntry("precision", "W4A16");
        assertThatThrownBy(() -> m.quantize(qkv, Calibration.none(), o)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("blocks.0.attn.qkv");
        assertThatThrownBy(() -> m.quantize(ada, Calibration.none(), o.with("adaln-precision", "w2a2")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'adaln-precision'");
        assertThatThrownBy(() -> m.quantize(ada, Calibration.none(), o.with("rank", "-1")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'rank'");
    }

    @Test
    void searchReportsProgressPerCandidate() {
        LinearLayer l = TestData.layer("blocks.0.attn.proj", LayerRole.ATTENTION_PROJ, 16, 64, 4);
        Calibration cal = TestData.simple(List.of(l), 16, 10, 1);
        List<String> msgs = new ArrayList<>();
        new SvdQuantMethod().quantizeAll(List.of(l), cal, MethodOptions.of(Precision.W4A8, FAST), (d, t, m) -> msgs.add(m));
        assertThat(msgs.stream().filter(m -> m.contains("(a="))).hasSize(SvdQuantMethod.candidates(0.25).size());
        assertThat(ProgressListener.NONE).isNotNull();
    }
}
