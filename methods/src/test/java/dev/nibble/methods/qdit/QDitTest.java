package dev.nibble.methods.qdit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.numerics.Quantizer;
import dev.nibble.methods.core.TestData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QDitTest {

    @Test
    void asymmetricGroupQuantizationByHand() {
        // one group of 4: [0, 1, 2, 3] with 4-bit asymmetric: lo 0, hi 3, scale 3/15 = 0.2, zero 0
        LinearLayer l = new LinearLayer("blocks.0.attn.proj", LayerRole.ATTENTION_PROJ,
                Tensor.ofFloats(new float[] {0, 1, 2, 3, -1, 1, -1, 1}, 1, 8), null);
        QuantizedLinear p = new QDitMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4, Map.of("group-size", "4")));
        assertThat(p.weight().scheme().groupSize()).isEqualTo(4);
        assertThat(p.weight().codes().toIntArray()).startsWith(0, 5, 10, 15);
        assertThat(p.weight().scales().toFloatArray()[0]).isEqualTo(3f / 15);
        // second group [-1, 1, -1, 1]: scale 2f/15 = 0.13333334 (rounded up), -1 / scale = -7.4999996, zero = 7
        assertThat(p.weight().zeros().toIntArray()[1]).isEqualTo(7);
        assertThat(Quantizer.dequantize(p.weight()).toFloatArray()[0]).isEqualTo(0f);
        assertThat(((ActivationQuant.Dynamic) p.activation()).scheme().groupSize()).isEqualTo(4);
        assertThat(((ActivationQuant.Dynamic) p.activation()).scheme().symmetric()).isFalse();
    }

    private static List<LinearLayer> layers() {
        List<LinearLayer> ls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ls.add(TestData.layer("blocks." + i + ".mlp.fc1", LayerRole.MLP_FC1, 16, 256, 50 + i));
        }
        return ls;
    }

    @Test
    void searchedGroupSizesBeatTheUniformStartAtTheSameBudget() {
        List<LinearLayer> ls = layers();
        // layers differ: some have strong, localized outliers (small groups pay off), others none
        Map<String, Map<Integer, float[]>> rows = new HashMap<>();
        for (int i = 0; i < ls.size(); i++) {
            float[] x = TestData.gaussian(32 * 256, 70 + i, 1);
            if (i % 2 == 0) {
                for (int r = 0; r < 32; r++) {
                    for (int j = 0; j < 8; j++) {
                        x[r * 256 + 30 * j] *= 30;
                    }
                }
            }
            rows.put(ls.get(i).name(), Map.of(0, x));
        }
        Calibration cal = TestData.calibration(rows, 256);
        QDitMethod m = new QDitMethod();
        MethodOptions o = MethodOptions.of(Precision.W4A4, Map.of("generations", "8"));
        List<String> progress = new ArrayList<>();
        EvolutionarySearch.Result r = m.search(ls, cal, o, (d, t, msg) -> progress.add(msg));
        assertThat(r.uniform()).containsOnly(128);
        assertThat(r.fitness()).isLessThan(r.uniformFitness());
        assertThat(Arrays.stream(r.groupSizes()).average().orElseThrow()).isGreaterThanOrEqualTo(128);
        assertThat(progress).hasSize(9);
        List<QuantizedLinear> plans = m.quantizeAll(ls, cal, o, ProgressListener.NONE);
        for (int i = 0; i < plans.size(); i++) {
            assertThat(plans.get(i).weight().scheme().groupSize()).isEqualTo(r.groupSizes()[i]);
        }
    }

    @Test
    void fitnessIsPluggable() {
        int[] target = {32, 256, 128, 128};
        QDitMethod m = new QDitMethod((layers, cal) -> g -> {
            double s = 0;
            for (int i = 0; i < g.length; i++) {
                s += Math.abs(Math.log((double) g[i] / target[i]));
            }
            return s;
        });
        EvolutionarySearch.Result r = m.search(layers(), Calibration.none(), MethodOptions.of(Precision.W4A8), ProgressListener.NONE);
        assertThat(r.groupSizes()).containsExactly(target);
        assertThat(r.fitness()).isZero();
    }

    @Test
    void candidatesMustDivideK() {
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 8, 96, 1);
        QuantizedLinear p = new QDitMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A16));
        assertThat(96 % p.weight().scheme().groupSize()).isZero();
        assertThat(p.weight().scheme().groupSize()).isEqualTo(96);
        assertThat(QDitMethod.fitGroup(384, 256)).isEqualTo(192);
    }

    @Test
    void badOptionsAreNamed() {
        LinearLayer l = TestData.layer("blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, 8, 64, 1);
        QDitMethod m = new QDitMethod();
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4, Map.of("top", "60"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'top'");
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4, Map.of("group-candidates", "a,b"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'group-candidates'");
        assertThatThrownBy(() -> m.quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A4, Map.of("fitness", "fid"))))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("'fitness'");
    }
}
