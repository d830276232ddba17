package dev.nibble.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.model.calibration.Calibrator;
import dev.nibble.model.diffusion.DdimSampler;
import dev.nibble.model.diffusion.DdpmSchedule;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.dit.HostBackend;
import dev.nibble.model.dit.RandomDit;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizedCheckpointTest {
    static final DitConfig SMALL = new DitConfig(8, 2, 1, 32, 2, 2, 4.0, 4, false, 256);

    @TempDir
    Path dir;

    private Calibration calibrate(DitModel m, HostBackend be, int steps) {
        try (DitRunner r = new DitRunner(be, m)) {
            return Calibrator.run(r, new DdimSampler(DdpmSchedule.linear1000(), steps, 1.5, SMALL.numClasses(), true),
                    4, 4, 16, 3, null);
        }
    }

    @Test
    void roundTripsEveryPartOfEveryPlanAndRunsTheSame() {
        Path fp = RandomDit.write(dir.resolve("fp.safetensors"), SMALL, 11, DType.F32);
        Path q = dir.resolve("q.safetensors");
        HostBackend be = new HostBackend();
        for (String g : new String[] {"0", "16"}) {
            MethodOptions opts = MethodOptions.of(Precision.W4A8, Map.of("group-size", g));
            try (DitModel m = DitModel.load(fp)) {
                Calibration cal = calibrate(m, be, 3);
                assertThat(cal.steps()).containsExactly(0, 1, 2);
                DitModel inMemory = ModelQuantizer.quantize(m, new TestRtnMethod(), opts, cal, ProgressListener.NONE);
                List<String> seen = new ArrayList<>();
                ModelQuantizer.quantizeToFile(m, new TestRtnMethod(), opts, cal, q, (d, t, name) -> seen.add(name));
                assertThat(seen).hasSize(m.plans().size());
                try (DitModel back = DitModel.load(q)) {
                    assertThat(back.metadata()).containsEntry(QuantizedCheckpoint.VERSION_KEY, "1")
                            .containsEntry(QuantizedCheckpoint.METHOD_KEY, "test-rtn")
                            .containsEntry(QuantizedCheckpoint.PRECISION_KEY, "w4a8");
                    assertThat(back.metadata().get(QuantizedCheckpoint.ROTATION_KEY)).contains("regular-hadamard-16");
                    for (var e : inMemory.plans().entrySet()) {
                        assertSamePlan(e.getValue(), back.plans().get(e.getKey()));
                    }
                    QuantizedLinear adaLN = back.plans().get("blocks.0.adaLN_modulation.1");
                    assertThat(adaLN.activation()).isInstanceOf(ActivationQuant.StaticTable.class);
                    assertThat(((ActivationQuant.StaticTable) adaLN.activation()).steps()).isEqualTo(3);
                    assertThat(back.byteSize()).isLessThan(m.byteSize());
                    // the file and the in-memory plans compute the same thing
                    Tensor x = Tensor.ofFloats(DdimSampler.noise(1, 0, 64 * 2), 2, 1, 8, 8);
                    try (DitRunner a = new DitRunner(be, inMemory); DitRunner b = new DitRunner(be, back)) {
                        assertThat(b.forward(x, new long[] {3, 900}, new long[] {1, 4}, 2).toFloatArray())
                                .containsExactly(a.forward(x, new long[] {3, 900}, new long[] {1, 4}, 2).toFloatArray());
                    }
                }
            }
        }
    }

    static void assertSamePlan(QuantizedLinear a, QuantizedLinear b) {
        assertThat(b.name()).isEqualTo(a.name());
        assertThat(b.inFeatures()).isEqualTo(a.inFeatures());
        assertThat(b.outFeatures()).isEqualTo(a.outFeatures());
        assertThat(b.rotation()).isEqualTo(a.rotation());
        assertThat(b.activation()).isEqualTo(a.activation());
        assertThat(b.metadata()).isEqualTo(a.metadata());
        sameTensor(a.smooth(), b.smooth());
        sameTensor(a.shift(), b.shift());
        sameTensor(a.bias(), b.bias());
        sameTensor(a.denseWeight(), b.denseWeight());
        assertThat(b.weight() == null).isEqualTo(a.weight() == null);
        if (a.weight() != null) {
            assertThat(b.weight().scheme()).isEqualTo(a.weight().scheme());
            sameTensor(a.weight().codes(), b.weight().codes());
            sameTensor(a.weight().scales(), b.weight().scales());
            sameTensor(a.weight().zeros(), b.weight().zeros());
        }
        assertThat(b.lowRank() == null).isEqualTo(a.lowRank() == null);
        if (a.lowRank() != null) {
            sameTensor(a.lowRank().down(), b.lowRank().down());
            sameTensor(a.lowRank().up(), b.lowRank().up());
        }
    }

    static void sameTensor(Tensor a, Tensor b) {
        assertThat(b == null).isEqualTo(a == null);
        if (a != null) {
            assertThat(b.dtype()).isEqualTo(a.dtype());
            assertThat(b.shape()).isEqualTo(a.shape());
            assertThat(b.toByteArray()).isEqualTo(a.toByteArray());
        }
    }

    private Path rewriteMeta(Path src, String name, Map<String, String> changes, String drop) {
        Map<String, Tensor> ts = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = SafetensorsFile.open(src)) {
            for (String n : f.names()) {
                if (!n.equals(drop)) {
                    ts.put(n, f.tensor(n).copy());
                }
            }
            meta = new LinkedHashMap<>(f.metadata());
        }
        meta.putAll(changes);
        return SafetensorsWriter.write(dir.resolve(name), ts, meta);
    }

    @Test
    void rejectsNewerVersionsAndBrokenDescriptors() {
        Path fp = RandomDit.write(dir.resolve("fp.safetensors"), SMALL, 11, DType.F32);
        Path q = dir.resolve("q.safetensors");
        try (DitModel m = DitModel.load(fp)) {
            ModelQuantizer.quantizeToFile(m, new TestRtnMethod(), MethodOptions.of(Precision.W8A8), Calibration.none(), q,
                    ProgressListener.NONE);
        }
        Path newer = rewriteMeta(q, "v2.safetensors", Map.of(QuantizedCheckpoint.VERSION_KEY, "2"), null);
        assertThatThrownBy(() -> DitModel.load(newer)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining("format version 2 is newer").hasMessageContaining("v2.safetensors");
        Path junk = rewriteMeta(q, "j.safetensors", Map.of(QuantizedCheckpoint.LAYERS_KEY, "{"), null);
        assertThatThrownBy(() -> DitModel.load(junk)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining(QuantizedCheckpoint.LAYERS_KEY);
        Path noScales = rewriteMeta(q, "s.safetensors", Map.of(), "blocks.1.mlp.fc1.wscales");
        assertThatThrownBy(() -> DitModel.load(noScales)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining("blocks.1.mlp.fc1.wscales").hasMessageContaining("missing");
    }

    @Test
    void streamingIsChosenForLayerByLayerMethods() {
        assertThat(ModelQuantizer.decidesLayerByLayer(new TestRtnMethod())).isTrue();
        assertThat(ModelQuantizer.decidesLayerByLayer(new TestRtnMethod() {
            @Override
            public List<QuantizedLinear> quantizeAll(List<dev.nibble.api.method.LinearLayer> layers, Calibration c,
                    MethodOptions o, ProgressListener p) {
                return List.of();
            }
        })).isFalse();
    }
}
