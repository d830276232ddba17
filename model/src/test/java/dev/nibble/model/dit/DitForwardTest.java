package dev.nibble.model.dit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DitForwardTest {
    /** A DiT small enough for a float64 oracle, with 2 channels, odd-sized MLP and 3 blocks. */
    static final DitConfig TINY = new DitConfig(8, 2, 2, 32, 3, 4, 2.5, 5, false, 256);

    @TempDir
    Path dir;

    static Tensor randomImages(int b, DitConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[b * c.inChannels() * c.inputSize() * c.inputSize()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(v, b, c.inChannels(), c.inputSize(), c.inputSize());
    }

    @Test
    void matchesAnIndependentFloat64Implementation() {
        Path f = RandomDit.write(dir.resolve("tiny.safetensors"), TINY, 7, DType.F32);
        Tensor x = randomImages(3, TINY, 1);
        long[] t = {0, 517, 999};
        long[] y = {0, 4, 5};
        try (DitModel m = DitModel.load(f); HostBackend be = new HostBackend(); DitRunner run = new DitRunner(be, m);
                SafetensorsFile sf = SafetensorsFile.open(f)) {
            float[] got = run.forward(x, t, y, 0).toFloatArray();
            ReferenceDit ref = new ReferenceDit(sf);
            float[] xs = x.toFloatArray();
            int hw = TINY.inputSize();
            int ch = TINY.inChannels();
            double maxErr = 0;
            double maxAbs = 0;
            for (int n = 0; n < 3; n++) {
                double[][][] img = new double[ch][hw][hw];
                for (int k = 0; k < ch; k++) {
                    for (int i = 0; i < hw; i++) {
                        for (int j = 0; j < hw; j++) {
                            img[k][i][j] = xs[((n * ch + k) * hw + i) * hw + j];
                        }
                    }
                }
                double[][][] want = ref.forward(img, t[n], y[n]);
                for (int k = 0; k < ch; k++) {
                    for (int i = 0; i < hw; i++) {
                        for (int j = 0; j < hw; j++) {
                            double g = got[((n * ch + k) * hw + i) * hw + j];
                            maxErr = Math.max(maxErr, Math.abs(g - want[k][i][j]));
                            maxAbs = Math.max(maxAbs, Math.abs(want[k][i][j]));
                        }
                    }
                }
            }
            assertThat(maxAbs).isGreaterThan(0.1); // the model does produce a signal
            assertThat(maxErr / maxAbs).isLessThan(1e-4);
        }
    }

    @Test
    void sixteenBitCheckpointsLoadAndRunClose() {
        Path f32 = RandomDit.write(dir.resolve("a.safetensors"), TINY, 3, DType.F32);
        Path bf = RandomDit.write(dir.resolve("b.safetensors"), TINY, 3, DType.BF16);
        Tensor x = randomImages(2, TINY, 2);
        long[] t = {10, 700};
        long[] y = {1, 5};
        try (HostBackend be = new HostBackend(); DitModel a = DitModel.load(f32); DitModel b = DitModel.load(bf);
                DitRunner ra = new DitRunner(be, a); DitRunner rb = new DitRunner(be, b)) {
            float[] ya = ra.forward(x, t, y, 0).toFloatArray();
            float[] yb = rb.forward(x, t, y, 0).toFloatArray();
            double num = 0;
            double den = 0;
            for (int i = 0; i < ya.length; i++) {
                num += (ya[i] - yb[i]) * (ya[i] - yb[i]);
                den += ya[i] * ya[i];
            }
            assertThat(Math.sqrt(num / den)).isBetween(1e-6, 0.05); // differs by bf16 rounding only
        }
    }

    @Test
    void passesTheStepToEveryLinear() {
        Path f = RandomDit.write(dir.resolve("s.safetensors"), TINY, 3, DType.F32);
        try (HostBackend be = new HostBackend(); DitModel m = DitModel.load(f); DitRunner r = new DitRunner(be, m)) {
            r.forward(randomImages(1, TINY, 2), new long[] {5}, new long[] {0}, 17);
            // 3 + 3 blocks × (6 adaLN chunks + 4) + 2 final chunks + final linear
            assertThat(be.stepsSeen).hasSize(3 + 3 * 10 + 3).containsOnly(17);
        }
    }

    @Test
    void rejectsWrongInputs() {
        Path f = RandomDit.write(dir.resolve("r.safetensors"), TINY, 3, DType.F32);
        try (HostBackend be = new HostBackend(); DitModel m = DitModel.load(f); DitRunner r = new DitRunner(be, m)) {
            assertThatThrownBy(() -> r.forward(Tensor.ofFloats(new float[8], 1, 1, 2, 4), new long[] {1}, new long[] {1}, 0))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("[B, 2, 8, 8]");
            assertThatThrownBy(() -> r.forward(randomImages(1, TINY, 1), new long[] {1}, new long[] {6}, 0))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("label 6");
        }
    }

    @Test
    void rejectsWrongLayouts() {
        Path f = RandomDit.write(dir.resolve("w.safetensors"), TINY, 3, DType.F32);
        Map<String, Tensor> ts = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (String n : sf.names()) {
                ts.put(n, sf.tensor(n).copy());
            }
            meta = sf.metadata();
        }
        Map<String, Tensor> missing = new LinkedHashMap<>(ts);
        missing.remove("blocks.1.mlp.fc2.weight");
        Path p1 = SafetensorsWriter.write(dir.resolve("m.safetensors"), missing, meta);
        assertThatThrownBy(() -> DitModel.load(p1)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining("blocks.1.mlp.fc2.weight").hasMessageContaining("missing");
        Map<String, Tensor> wrong = new LinkedHashMap<>(ts);
        wrong.put("blocks.0.attn.qkv.weight", Tensor.ofFloats(new float[96 * 31], 96, 31));
        Path p2 = SafetensorsWriter.write(dir.resolve("x.safetensors"), wrong, meta);
        assertThatThrownBy(() -> DitModel.load(p2)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining("blocks.0.attn.qkv.weight").hasMessageContaining("[96, 32]");
        Path p3 = SafetensorsWriter.write(dir.resolve("n.safetensors"), ts, Map.of());
        assertThatThrownBy(() -> DitModel.load(p3)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining(DitConfig.METADATA_KEY);
    }
}
