package dev.nibble.it.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitLayers;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzzes the DiT config parser: the input is the JSON stored under {@code nibble.dit.config}. A
 * config that parses must describe a DiT whose layer list can be built (every width positive, no int
 * overflow) and must then load, or be refused with a typed error, against a fixed tiny DiT's tensors
 * (so a forged depth or width cannot make the loader allocate without bound). Only
 * {@link CheckpointFormatException} may escape.
 */
class DitConfigFuzzTest {
    private static final Path TEMPLATE = FuzzSeeds.tinyDit();

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"input_size\"", "\"patch_size\"", "\"in_channels\"", "\"hidden_size\"", "\"depth\"",
        "\"num_heads\"", "\"mlp_ratio\"", "\"num_classes\"", "\"learn_sigma\"", "\"frequency_embedding_size\"",
        "2147483647", "65536", "1e308", "NaN", "-0.0", "true"})
    void ditConfig(byte[] bytes) {
        String json = new String(bytes, StandardCharsets.UTF_8);
        Path source = Path.of("fuzz-config.json");
        DitConfig c;
        try {
            c = DitConfig.fromJson(json, source);
        } catch (CheckpointFormatException e) {
            FuzzFiles.checkNamesFile(e, source);
            return;
        }
        List<DitLayers.Spec> layers = DitLayers.all(c);
        if (layers.size() != 5 * c.depth() + 5) {
            throw new AssertionError("config " + c + " gives " + layers.size() + " layers");
        }
        for (DitLayers.Spec s : layers) {
            if (s.in() <= 0 || s.out() <= 0) {
                throw new AssertionError("config " + c + " gives layer " + s);
            }
        }
        if (c.tokens() <= 0 || c.patchDim() <= 0 || c.mlpHidden() <= 0 || c.outChannels() <= 0) {
            throw new AssertionError("config " + c + " has a non-positive derived size");
        }
        Path file = FuzzFiles.write("fuzz-config.safetensors", new byte[0]);
        try (SafetensorsFile t = SafetensorsFile.open(TEMPLATE); SafetensorsWriter w = SafetensorsWriter.create(file)) {
            w.metadata(DitConfig.METADATA_KEY, json);
            for (String name : t.names()) {
                w.add(name, t.tensor(name));
            }
            w.commit();
        }
        try (DitModel m = DitModel.load(file)) {
            if (!m.config().equals(c)) {
                throw new AssertionError("loaded " + m.config() + ", parsed " + c);
            }
        } catch (CheckpointFormatException e) {
            FuzzFiles.checkNamesFile(e, file);
        }
    }
}
