package dev.nibble.it.badinput;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Granularity;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.Methods;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.model.checkpoint.ModelQuantizer;
import dev.nibble.model.checkpoint.NonFinitePolicy;
import dev.nibble.model.dit.DitModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two rows of the bad-input table that are not refusals: NaN/Inf weights under the 'clamp'
 * policy (a warning naming the tensor, then finite plans), and a group size that does not divide K
 * (accepted: the API's per-group contract gives each row {@code ceil(K / g)} groups, the last short).
 */
class AcceptedOddInputsTest {
    @TempDir
    Path dir;

    @Test
    void clampPolicyWarnsNamingTheTensorAndQuantizesFiniteValues() {
        Path m = BadFiles.poke(BadFiles.tinyDit(dir.resolve("nan.safetensors")), "blocks.0.attn.qkv.weight", 13, Float.NaN);
        BadFiles.poke(m, "blocks.0.attn.qkv.weight", 14, Float.POSITIVE_INFINITY);
        List<String> warnings = new ArrayList<>();
        Logger log = Logger.getLogger("dev.nibble.model.checkpoint.NonFiniteWeights");
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                warnings.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(h);
        Path q = dir.resolve("q.safetensors");
        try (DitModel fp = DitModel.load(m)) {
            ModelQuantizer.quantizeToFile(fp, Methods.get("rtn"), MethodOptions.of(Precision.W8A8), Calibration.none(), q,
                    ProgressListener.NONE, NonFinitePolicy.CLAMP);
        } finally {
            log.removeHandler(h);
        }
        assertThat(warnings).singleElement().asString()
                .startsWith("WARNING 2 of 192 values of tensor 'blocks.0.attn.qkv.weight'").contains("clamped");
        try (DitModel qm = DitModel.load(q)) {
            QuantizedLinear p = qm.plans().get("blocks.0.attn.qkv");
            float[] scales = p.weight().scales().toFloatArray();
            for (float s : scales) {
                assertThat(Float.isFinite(s) && s > 0).as("scale %s", s).isTrue();
            }
        }
    }

    @Test
    void nonFiniteValuesInALayerTheMethodKeepsDenseAreLeftAlone() {
        // RTN's scope is the blocks: the patch embedding stays dense and is not checked
        Path m = BadFiles.poke(BadFiles.tinyDit(dir.resolve("nan-patch.safetensors")), "x_embedder.proj.weight", 1, Float.NaN);
        Path q = dir.resolve("q.safetensors");
        BadInputTableTest.quantize(m, q, "rtn", Precision.W8A8, Map.of());
        try (DitModel qm = DitModel.load(q)) {
            assertThat(qm.plans().get("x_embedder.proj").denseWeight().getFloat(1)).isNaN();
            assertThat(qm.plans().get("blocks.0.attn.qkv").weight()).isNotNull();
        }
    }

    @Test
    void inMemoryQuantizationAppliesTheSamePolicy() {
        Path m = BadFiles.poke(BadFiles.tinyDit(dir.resolve("nan2.safetensors")), "blocks.0.mlp.fc1.weight", 0, Float.NaN);
        try (DitModel fp = DitModel.load(m)) {
            MethodOptions o = MethodOptions.of(Precision.W8A8);
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> ModelQuantizer.quantize(fp, Methods.get("rtn"), o,
                    Calibration.none(), ProgressListener.NONE)))
                    .isExactlyInstanceOf(dev.nibble.api.InvalidInputException.class)
                    .hasMessageContaining("tensor 'blocks.0.mlp.fc1.weight'");
            DitModel clamped = ModelQuantizer.quantize(fp, Methods.get("rtn"), o, Calibration.none(), ProgressListener.NONE,
                    NonFinitePolicy.CLAMP);
            for (float s : clamped.plans().get("blocks.0.mlp.fc1").weight().scales().toFloatArray()) {
                assertThat(Float.isFinite(s)).isTrue();
            }
        }
    }

    @Test
    void groupSizeThatDoesNotDivideKGivesAShortLastGroup() {
        Path q = dir.resolve("g5.safetensors");
        BadInputTableTest.quantize(BadFiles.tinyDit(dir.resolve("fp.safetensors")), q, "rtn", Precision.W4A8,
                Map.of("group-size", "5"));
        try (DitModel qm = DitModel.load(q)) {
            QuantizedLinear p = qm.plans().get("blocks.0.attn.qkv");
            assertThat(p.inFeatures()).isEqualTo(8);
            assertThat(p.weight().scheme().granularity()).isEqualTo(Granularity.PER_GROUP);
            assertThat(p.weight().scheme().groupSize()).isEqualTo(5);
            assertThat(p.weight().scales().elementCount()).isEqualTo(24L * 2);
        }
    }
}
