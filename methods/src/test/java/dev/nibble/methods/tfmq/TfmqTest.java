package dev.nibble.methods.tfmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.TestData;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TfmqTest {
    private static final Map<String, String> FAST = Map.of("grid", "20");

    /** Activations whose magnitude grows with the step. */
    private static Calibration drifting(LinearLayer l, int steps, int rows) {
        Map<Integer, float[]> by = new HashMap<>();
        for (int s = 0; s < steps; s++) {
            float[] x = TestData.activations(rows, l.inFeatures(), 40 + s, 3);
            for (int i = 0; i < x.length; i++) {
                x[i] *= (float) Math.pow(2, s);
            }
            by.put(s, x);
        }
        return TestData.calibration(Map.of(l.name(), by), l.inFeatures());
    }

    @Test
    void oneTableEntryPerSamplingStep() {
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 16, 32, 1);
        Calibration cal = drifting(l, 5, 16);
        QuantizedLinear p = new TfmqMethod().quantize(l, cal, MethodOptions.of(Precision.W4A8, FAST));
        ActivationQuant.StaticTable t = (ActivationQuant.StaticTable) p.activation();
        assertThat(t.steps()).isEqualTo(5);
        for (int s = 0; s < 5; s++) { // each entry is the Lp search on that step's rows
            float[] x = cal.layer(l.name()).orElseThrow().inputs(s).orElseThrow().toFloatArray();
            float[] sz = LpRangeSearch.staticParams(x, TfmqMethod.activationScheme(8), 2.4, 20);
            assertThat(t.scale(s)).isEqualTo(sz[0]);
            assertThat(t.zeroPoint(s)).isEqualTo((int) sz[1]);
        }
        assertThat(t.scale(4)).isGreaterThan(4 * t.scale(0)); // follows the 16x drift
        // more sampling steps than calibrated ones: each borrows the nearest calibrated step
        QuantizedLinear p8 = new TfmqMethod().quantize(l, cal, MethodOptions.of(Precision.W4A8, Map.of("grid", "20", "steps", "8")));
        ActivationQuant.StaticTable t8 = (ActivationQuant.StaticTable) p8.activation();
        assertThat(t8.steps()).isEqualTo(8);
        assertThat(t8.scale(7)).isEqualTo(t.scale(4));
        assertThatThrownBy(() -> new TfmqMethod().quantize(l, cal, MethodOptions.of(Precision.W4A8, Map.of("steps", "3"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'steps'");
    }

    @Test
    void perStepTablesBeatOneTableForAllSteps() {
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 16, 32, 2);
        Calibration cal = drifting(l, 4, 32);
        QuantizedLinear perStep = new TfmqMethod().quantize(l, cal, MethodOptions.of(Precision.W8A8, FAST));
        QuantizedLinear single = new TfmqMethod().quantize(l, cal,
                MethodOptions.of(Precision.W8A8, Map.of("grid", "20", "step-tables", "temporal")));
        assertThat(((ActivationQuant.StaticTable) single.activation()).steps()).isEqualTo(1);
        double ePer = 0;
        double eOne = 0;
        for (int s = 0; s < 4; s++) {
            float[] x = cal.layer(l.name()).orElseThrow().inputs(s).orElseThrow().toFloatArray();
            float[] ref = PlanSimulator.reference(l, x, 32);
            ePer += Mat.nmse(ref, new PlanSimulator(perStep).forward(x, 32, s));
            eOne += Mat.nmse(ref, new PlanSimulator(single).forward(x, 32, s));
        }
        assertThat(ePer).isLessThan(eOne);
    }

    @Test
    void staticRangeByHand() {
        float[] x = new float[16];
        for (int i = 0; i < 16; i++) {
            x[i] = i; // 0..15 fits 4-bit unsigned exactly with scale 1, zero 0
        }
        float[] sz = LpRangeSearch.staticParams(x, TfmqMethod.activationScheme(4), 2.4, 100);
        assertThat(sz[0]).isEqualTo(1f);
        assertThat(sz[1]).isEqualTo(0f);
        // one far outlier: the Lp search clips it rather than spend the range on it
        float[] y = TestData.gaussian(4096, 3, 1);
        y[0] = 60;
        float[] c = LpRangeSearch.staticParams(y, TfmqMethod.activationScheme(4), 2.4, 100);
        assertThat(c[0] * 15).isLessThan(60 * 0.9f);
    }

    @Test
    void weightsUseAnLpClippedPerChannelRange() {
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 16, 64, 3);
        QuantizedLinear p = new TfmqMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A16, FAST));
        assertThat(p.weight().scheme().granularity()).isEqualTo(dev.nibble.api.Granularity.PER_CHANNEL);
        assertThat(p.weight().scheme().symmetric()).isFalse();
        assertThat(p.weight().scheme().clipRatio()).isLessThan(1f).isEqualTo(Float.parseFloat(p.metadata().get("tfmq.weight-clip")),
                within(1e-3f));
        assertThat(p.activation()).isInstanceOf(ActivationQuant.None.class);
    }

    @Test
    void temporalLayersChooseBetweenCalibrationAndCacheByError() {
        LinearLayer ada = TestData.layer("blocks.0.adaLN_modulation.1", LayerRole.ADALN_MODULATION, 24, 32, 5);
        Calibration cal = drifting(ada, 3, 4);
        TfmqMethod m = new TfmqMethod();
        assertThat(m.quantizes(ada, MethodOptions.of(Precision.W4A4))).isTrue();
        QuantizedLinear auto = m.quantize(ada, cal, MethodOptions.of(Precision.W4A4, FAST));
        double cal4 = Double.parseDouble(auto.metadata().get("tfmq.calibrated.sqnr-db"));
        double cache = Double.parseDouble(auto.metadata().get("tfmq.cache.sqnr-db"));
        // an 8-bit output cache is far more accurate than W4A4 calibrated per step
        assertThat(cache).isGreaterThan(cal4);
        assertThat(auto.metadata()).containsEntry(TemporalCache.MODE_KEY, "cache").containsEntry(TemporalCache.BITS_KEY, "8");
        assertThat(auto.denseWeight()).isNotNull();

        QuantizedLinear forced = m.quantize(ada, cal, MethodOptions.of(Precision.W4A4, Map.of("grid", "20", "temporal", "calibrate")));
        assertThat(forced.activation()).isInstanceOf(ActivationQuant.StaticTable.class);
        assertThat(((ActivationQuant.StaticTable) forced.activation()).steps()).isEqualTo(3);
        assertThat(forced.metadata()).containsEntry(TemporalCache.MODE_KEY, "calibrate");

        // the cache structure a runner builds from the plan: one entry per (step, class)
        TemporalCache c = new TemporalCache(8);
        float[] x = cal.layer(ada.name()).orElseThrow().inputs(1).orElseThrow().toFloatArray();
        for (int cls = 0; cls < 4; cls++) {
            float[] row = java.util.Arrays.copyOfRange(x, cls * 32, cls * 32 + 32);
            c.put(auto, new TemporalCache.Key(1, cls), row);
        }
        assertThat(c.size()).isEqualTo(4);
        float[] ref = PlanSimulator.reference(ada, java.util.Arrays.copyOfRange(x, 64, 96), 1);
        assertThat(Mat.sqnrDb(ref, c.get(new TemporalCache.Key(1, 2)).orElseThrow())).isGreaterThan(35);
    }

    @Test
    void requirementsAndBadOptions() {
        QuantMethod m = new TfmqMethod();
        assertThat(m.requirements(MethodOptions.of(Precision.W4A4)))
                .contains(QuantMethod.Requirement.PER_TIMESTEP_CALIBRATION);
        assertThat(m.requirements(MethodOptions.of(Precision.W4A16))).isEmpty();
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 4, 8, 3);
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("blocks.0.attn.qkv");
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A16, Map.of("temporal", "maybe"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'temporal'");
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A16, Map.of("cache-bits", "6"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'cache-bits'");
        assertThat(List.of(m.options().stream().map(o -> o.name()).toArray())).contains("p", "grid", "scope");
    }
}
