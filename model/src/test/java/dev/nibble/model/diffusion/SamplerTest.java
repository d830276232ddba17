package dev.nibble.model.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.dit.HostBackend;
import dev.nibble.model.dit.RandomDit;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SamplerTest {
    @TempDir
    Path dir;

    @Test
    void scheduleMatchesTheLinearDdpmDefinition() {
        DdpmSchedule s = DdpmSchedule.linear1000();
        assertThat(s.alphaBar(0)).isCloseTo(1 - 1e-4, within(1e-15));
        double prod = 1;
        for (int i = 0; i < 1000; i++) {
            prod *= 1 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
        }
        assertThat(s.alphaBar(999)).isCloseTo(prod, within(1e-15));
        assertThat(s.samplingTimesteps(4)).containsExactly(750, 500, 250, 0);
        assertThat(s.samplingTimesteps(50)[0]).isEqualTo(980);
    }

    @Test
    void perfectNoisePredictionRecoversTheCleanImage() {
        // if the model knows x0, DDIM with eta 0 lands on x0 exactly (modulo float rounding)
        float[] x0 = {0.5f, -0.25f, 0.75f, -1f};
        DdpmSchedule s = DdpmSchedule.linear1000();
        NoiseModel oracle = (x, t, y, step) -> {
            float[] v = x.toFloatArray();
            float[] eps = new float[v.length];
            double ab = s.alphaBar((int) t[0]);
            for (int i = 0; i < v.length; i++) {
                eps[i] = (float) ((v[i] - Math.sqrt(ab) * x0[i % 4]) / Math.sqrt(1 - ab));
            }
            return Tensor.ofFloats(eps, x.shape().dims());
        };
        Tensor out = new DdimSampler(s, 10, 1.0, 0, false).sample(oracle, new long[] {0}, 5, 0, 1, 2, null);
        float[] got = out.toFloatArray();
        for (int i = 0; i < 4; i++) {
            assertThat((double) got[i]).isCloseTo(x0[i], within(1e-4));
        }
    }

    @Test
    void guidanceBatchesConditionalAndNullHalvesAndPassesStepIndices() {
        List<long[]> labels = new ArrayList<>();
        List<Integer> steps = new ArrayList<>();
        NoiseModel spy = (x, t, y, step) -> {
            labels.add(y.clone());
            steps.add(step);
            return Tensor.ofFloats(new float[(int) x.elementCount()], x.shape().dims());
        };
        new DdimSampler(DdpmSchedule.linear1000(), 3, 4.0, 10, true).sample(spy, new long[] {2, 7}, 1, 0, 1, 2, null);
        assertThat(steps).containsExactly(0, 1, 2);
        assertThat(labels.getFirst()).containsExactly(2, 7, 10, 10);
    }

    @Test
    void samplingIsDeterministicAndIndependentOfBatching() {
        DitConfig c = new DitConfig(8, 2, 1, 32, 2, 2, 4.0, 4, false, 256);
        Path f = RandomDit.write(dir.resolve("m.safetensors"), c, 5, DType.F32);
        DdimSampler sampler = new DdimSampler(DdpmSchedule.linear1000(), 5, 1.5, 4, true);
        try (HostBackend be = new HostBackend(); DitModel m = DitModel.load(f); DitRunner r = new DitRunner(be, m)) {
            float[] all = sampler.sample(r::forward, new long[] {0, 1, 2}, 42, 0, 1, 8, null).toFloatArray();
            float[] again = sampler.sample(r::forward, new long[] {0, 1, 2}, 42, 0, 1, 8, null).toFloatArray();
            float[] first = sampler.sample(r::forward, new long[] {0}, 42, 0, 1, 8, null).toFloatArray();
            float[] rest = sampler.sample(r::forward, new long[] {1, 2}, 42, 1, 1, 8, null).toFloatArray();
            float[] otherSeed = sampler.sample(r::forward, new long[] {0}, 43, 0, 1, 8, null).toFloatArray();
            assertThat(again).containsExactly(all);
            float[] joined = new float[all.length];
            System.arraycopy(first, 0, joined, 0, 64);
            System.arraycopy(rest, 0, joined, 64, 128);
            for (int i = 0; i < all.length; i++) {
                assertThat((double) joined[i]).isCloseTo(all[i], within(1e-5));
            }
            assertThat(otherSeed).isNotEqualTo(first);
            for (float v : all) {
                assertThat(v).isBetween(-1.0001f, 1.0001f); // x0 is clipped; the last step returns it
            }
        }
    }
}
