package dev.nibble.it.fuzz;

import dev.nibble.api.DType;
import dev.nibble.api.Precision;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.Methods;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.model.checkpoint.ModelQuantizer;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.RandomDit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The tiny DiT the fuzz targets start from, and the generator of the committed seed corpora
 * (run {@link #main} from the integration-tests folder to rewrite them; the files are committed so
 * the corpus does not change when the writer does).
 */
public final class FuzzSeeds {
    /** A DiT small enough that a whole checkpoint is a few kilobytes: 2×2 patches, D = 8, one block. */
    static final DitConfig TINY = new DitConfig(4, 2, 1, 8, 1, 2, 2.0, 2, false, 8);

    private static Path tiny;

    private FuzzSeeds() {
    }

    /** @return a full-precision tiny DiT, written once per JVM */
    static synchronized Path tinyDit() {
        if (tiny == null) {
            try {
                Path dir = Files.createTempDirectory("nibble-fuzz-seeds");
                tiny = RandomDit.write(dir.resolve("tiny-dit.safetensors"), TINY, 7, DType.F32);
                tiny.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tiny;
    }

    /**
     * Rewrites the seed corpora under src/test/resources.
     *
     * @param args unused
     * @throws IOException if a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path res = Path.of("src/test/resources/dev/nibble/it/fuzz");
        Path q = Files.createDirectories(res.resolve("QuantizedCheckpointFuzzTestInputs/quantizedCheckpoint"));
        Files.copy(tinyDit(), q.resolve("full-precision-f32"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path bf16 = RandomDit.write(Files.createTempFile("tiny", ".safetensors"), TINY, 8, DType.BF16);
        Files.move(bf16, q.resolve("full-precision-bf16"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        quantize(q, "rtn-w4a8", "rtn", Precision.W4A8, Map.of());
        quantize(q, "rtn-w8a8-g4", "rtn", Precision.W8A8, Map.of("group-size", "4"));
        quantize(q, "nf4-w4a16", "nf4", Precision.W4A16, Map.of());
        quantize(q, "quarot-w4a4", "quarot", Precision.W4A4, Map.of());
        quantize(q, "convrot-w4a8", "convrot", Precision.W4A8, Map.of());

        Path c = Files.createDirectories(res.resolve("DitConfigFuzzTestInputs/ditConfig"));
        Files.writeString(c.resolve("tiny"), TINY.toJson(), StandardCharsets.UTF_8);
        Files.writeString(c.resolve("dit-xl-2"), new DitConfig(32, 2, 4, 1152, 28, 16, 4.0, 1000, true, 256).toJson(),
                StandardCharsets.UTF_8);
        Files.writeString(c.resolve("defaults-omitted"),
                "{\"input_size\":4,\"patch_size\":2,\"in_channels\":1,\"hidden_size\":8,\"depth\":1,\"num_heads\":2,"
                        + "\"num_classes\":2}", StandardCharsets.UTF_8);
    }

    private static void quantize(Path dir, String name, String method, Precision p, Map<String, String> options) {
        try (DitModel m = DitModel.load(tinyDit())) {
            Path out = dir.resolve(name);
            ModelQuantizer.quantizeToFile(m, Methods.get(method), MethodOptions.of(p, options), Calibration.none(), out,
                    ProgressListener.NONE);
            System.out.println(name + ": " + Files.size(out) + " bytes");
        } catch (RuntimeException | IOException e) {
            System.out.println(name + ": skipped, " + e);
        }
    }
}
