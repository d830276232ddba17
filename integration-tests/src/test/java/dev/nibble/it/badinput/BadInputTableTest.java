package dev.nibble.it.badinput;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.Methods;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.model.checkpoint.ModelQuantizer;
import dev.nibble.model.checkpoint.QuantizedCheckpoint;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitLayers;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One row per kind of bad input a user can hand Nibble: the input, the exact exception type, and
 * the words its message must hold (always the culprit file, tensor or layer, and the problem). The
 * rows and the messages actually thrown are written to {@code target/bad-input-table.md} (the table
 * in docs/reliability.md is taken from it).
 */
class BadInputTableTest {
    private static Path dir;
    private static final List<String> TABLE = new ArrayList<>();

    /**
     * @param input what the row feeds in
     * @param type the exact exception type expected
     * @param action makes the input under a folder and runs the operation on it
     * @param words further text the message must hold
     */
    record Row(String input, Class<? extends Throwable> type, Consumer<Path> action, String... words) {
        @Override
        public String toString() {
            return input;
        }
    }

    @BeforeAll
    static void folder() throws IOException {
        dir = Files.createTempDirectory("nibble-bad-inputs");
    }

    static Stream<Row> rows() {
        return Stream.of(
                new Row("file shorter than the 8-byte header length", CheckpointFormatException.class,
                        d -> open(BadFiles.bytes(d.resolve("short.safetensors"), new byte[] {1, 2, 3})),
                        "too short for the 8-byte header length"),
                new Row("truncated file (last 100 bytes cut off a DiT)", CheckpointFormatException.class,
                        d -> {
                            byte[] all = BadFiles.read(BadFiles.tinyDit(d.resolve("whole.safetensors")));
                            load(BadFiles.bytes(d.resolve("truncated.safetensors"), Arrays.copyOf(all, all.length - 100)));
                        },
                        "tensor '" + DitLayers.POS_EMBED + "'", "run past the end of the data area", "file truncated?"),
                new Row("header length past the end of the file", CheckpointFormatException.class,
                        d -> open(BadFiles.bytes(d.resolve("hlen.safetensors"), new byte[] {(byte) 0xe8, 3, 0, 0, 0, 0, 0, 0, '{', '}'})),
                        "header length 1000 does not fit in a file of 10 bytes"),
                new Row("header length with the sign bit set", CheckpointFormatException.class,
                        d -> open(BadFiles.bytes(d.resolve("hneg.safetensors"), new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) 0x80, '{', '}'})),
                        "header length 9223372036854775808 does not fit"),
                new Row("header that is not JSON", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("json.safetensors"), "{\"w\": [", 0)),
                        "header is not valid JSON"),
                new Row("overlapping data_offsets", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("overlap.safetensors"),
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16)),
                        "tensor 'b'", "overlap tensor 'a' [0, 16)"),
                new Row("data_offsets past the end of the data", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("range.safetensors"),
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16)),
                        "tensor 'w'", "data_offsets [8, 24] run past the end of the data area (16 bytes"),
                new Row("data_offsets in descending order", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("desc.safetensors"),
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16)),
                        "tensor 'w'", "not an ascending range"),
                new Row("unknown dtype", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("dtype.safetensors"),
                                "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4)),
                        "tensor 'w'", "unknown dtype 'F8_E4M3'"),
                new Row("shape and byte count disagree", CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("bytes.safetensors"),
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20)),
                        "tensor 'w'", "F32 [2, 3] needs 24 bytes but data_offsets give 20"),
                new Row("shape whose byte count overflows a long (found by review, fuzz regression input)",
                        CheckpointFormatException.class,
                        d -> open(BadFiles.raw(d.resolve("overflow.safetensors"),
                                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0)),
                        "tensor 'w'", "overflows"),
                new Row("NaN in a weight (default policy: fail)", InvalidInputException.class,
                        d -> {
                            Path m = BadFiles.poke(BadFiles.tinyDit(d.resolve("nan.safetensors")), "blocks.0.attn.qkv.weight", 13, Float.NaN);
                            quantize(m, d.resolve("nan-q.safetensors"), "rtn", Precision.W4A8, Map.of());
                        },
                        "tensor 'blocks.0.attn.qkv.weight'", "1 of 192 values", "NaN at [1, 5]", "--non-finite clamp"),
                new Row("+Inf in a bias (default policy: fail)", InvalidInputException.class,
                        d -> {
                            Path m = BadFiles.poke(BadFiles.tinyDit(d.resolve("inf.safetensors")), "blocks.0.mlp.fc2.bias", 2,
                                    Float.POSITIVE_INFINITY);
                            quantize(m, d.resolve("inf-q.safetensors"), "rtn", Precision.W8A8, Map.of());
                        },
                        "tensor 'blocks.0.mlp.fc2.bias'", "Infinity at [2]"),
                new Row("K a method cannot take (QuaRot, K = 10 has no Hadamard matrix)", InvalidInputException.class,
                        d -> {
                            Path m = BadFiles.tinyDit(d.resolve("k10.safetensors"), new DitConfig(4, 2, 1, 10, 1, 2, 2.0, 2, false, 8));
                            quantize(m, d.resolve("k10-q.safetensors"), "quarot", Precision.W4A4, Map.of());
                        },
                        "layer 'blocks.0.attn.qkv'", "no Hadamard matrix of order 10"),
                new Row("group size larger than the method allows (RTN group-size 2^21)", InvalidInputException.class,
                        d -> {
                            quantize(BadFiles.tinyDit(d.resolve("g.safetensors")), d.resolve("g-q.safetensors"), "rtn", Precision.W4A8,
                                    Map.of("group-size", Integer.toString(1 << 21)));
                        },
                        "method 'rtn'", "option 'group-size' must be in [0, 1048576], got 2097152"),
                new Row("quantized checkpoint from a newer format version", CheckpointFormatException.class,
                        d -> {
                            Path q = d.resolve("v1.safetensors");
                            quantize(BadFiles.tinyDit(d.resolve("fp.safetensors")), q, "rtn", Precision.W4A8, Map.of());
                            load(BadFiles.copy(q, d.resolve("v2.safetensors"), (meta, w) -> meta.put(QuantizedCheckpoint.VERSION_KEY, "2")));
                        },
                        "format version 2 is newer than this Nibble reads (1)", "upgrade Nibble"),
                new Row("quantized checkpoint missing a layer's codes", CheckpointFormatException.class,
                        d -> {
                            Path q = d.resolve("q.safetensors");
                            quantize(BadFiles.tinyDit(d.resolve("fp.safetensors")), q, "rtn", Precision.W4A8, Map.of());
                            load(BadFiles.copy(q, d.resolve("no-codes.safetensors"), (meta, w) -> { }, "blocks.0.attn.qkv.qweight"));
                        },
                        "tensor 'blocks.0.attn.qkv.qweight'", "missing tensor"),
                new Row("quantized checkpoint whose scheme does not match its codes (int8 scheme, I4 codes)",
                        CheckpointFormatException.class,
                        d -> {
                            Path q = d.resolve("q.safetensors");
                            quantize(BadFiles.tinyDit(d.resolve("fp.safetensors")), q, "rtn", Precision.W4A8, Map.of());
                            load(BadFiles.copy(q, d.resolve("scheme.safetensors"), (meta, w) -> meta.put(QuantizedCheckpoint.LAYERS_KEY,
                                    meta.get(QuantizedCheckpoint.LAYERS_KEY).replaceFirst("\"bits\":4", "\"bits\":8"))));
                        },
                        ".qweight'", "dtype I4 does not match scheme int8"),
                new Row("model that is not a DiT (an LLM layout, no DiT config)", CheckpointFormatException.class,
                        d -> load(BadFiles.raw(d.resolve("llm.safetensors"),
                                "{\"model.layers.0.self_attn.q_proj.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16)),
                        "no DiT config", "facebookresearch/DiT layout"),
                new Row("DiT config, a layer's tensor missing", CheckpointFormatException.class,
                        d -> load(BadFiles.copy(BadFiles.tinyDit(d.resolve("full.safetensors")), d.resolve("missing.safetensors"),
                                (meta, w) -> { }, "blocks.0.mlp.fc2.weight")),
                        "tensor 'blocks.0.mlp.fc2.weight'", "missing tensor"),
                new Row("DiT config that does not match the tensors", CheckpointFormatException.class,
                        d -> load(BadFiles.copy(BadFiles.tinyDit(d.resolve("full2.safetensors")), d.resolve("mismatch.safetensors"),
                                (meta, w) -> meta.put(DitConfig.METADATA_KEY, new DitConfig(4, 2, 1, 16, 1, 2, 2.0, 2, false, 8).toJson()))),
                        "tensor 'x_embedder.proj.weight'", "shape [8, 1, 2, 2], the config needs [16, 1, 2, 2]"),
                new Row("DiT config with a forged depth (2^31 - 1 blocks)", CheckpointFormatException.class,
                        d -> load(BadFiles.copy(BadFiles.tinyDit(d.resolve("full3.safetensors")), d.resolve("deep.safetensors"),
                                (meta, w) -> meta.put(DitConfig.METADATA_KEY, meta.get(DitConfig.METADATA_KEY)
                                        .replace("\"depth\":1", "\"depth\":2147483647")))),
                        "nibble.dit.config", "depth 2147483647 exceeds the limit of 4096 blocks"),
                new Row("DiT config with a width past int range", CheckpointFormatException.class,
                        d -> load(BadFiles.copy(BadFiles.tinyDit(d.resolve("full4.safetensors")), d.resolve("wide.safetensors"),
                                (meta, w) -> meta.put(DitConfig.METADATA_KEY, meta.get(DitConfig.METADATA_KEY)
                                        .replace("\"hidden_size\":8", "\"hidden_size\":8589934592")))),
                        "field 'hidden_size' = 8589934592 is out of int range"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void rejectsWithTheExactTypeNamingTheCulprit(Row row) throws IOException {
        Path d = Files.createTempDirectory(dir, "row");
        Throwable t = catchThrowable(() -> row.action().accept(d));
        assertThat(t).as(row.input()).isExactlyInstanceOf(row.type());
        if (t instanceof CheckpointFormatException cfe) {
            assertThat(cfe.file()).as("the file is named").isNotNull();
            assertThat(t.getMessage()).startsWith(cfe.file().toString());
        }
        for (String w : row.words()) {
            assertThat(t.getMessage()).as(row.input()).contains(w);
        }
        synchronized (TABLE) {
            TABLE.add("| " + row.input() + " | `" + row.type().getSimpleName() + "` | "
                    + t.getMessage().replace(d.toString(), "…").replace("|", "\\|") + " |");
        }
    }

    @AfterAll
    static void writeTable() throws IOException {
        Path out = Path.of(System.getProperty("nibble.build", "target"), "bad-input-table.md");
        List<String> lines = new ArrayList<>(List.of("| Input | Exception | Message |", "|---|---|---|"));
        lines.addAll(TABLE);
        Files.createDirectories(out.getParent());
        Files.write(out, lines);
    }

    private static void open(Path p) {
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            f.names();
        }
    }

    private static void load(Path p) {
        try (DitModel m = DitModel.load(p)) {
            m.plans();
        }
    }

    static void quantize(Path model, Path out, String method, Precision p, Map<String, String> options) {
        try (DitModel m = DitModel.load(model)) {
            ModelQuantizer.quantizeToFile(m, Methods.get(method), MethodOptions.of(p, options), Calibration.none(), out,
                    ProgressListener.NONE);
        }
    }
}
