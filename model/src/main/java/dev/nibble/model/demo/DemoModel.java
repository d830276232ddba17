package dev.nibble.model.demo;

import dev.nibble.api.io.AtomicFiles;
import dev.nibble.api.CheckpointFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The bundled demo: a small DiT trained on scikit-learn's handwritten digits (16×16, 10 classes),
 * its digit classifier, real digits and PyTorch reference inputs/outputs (recipe in tools/). The
 * files ship inside this module and are copied once to a cache directory, because a memory map
 * needs a real file.
 */
public final class DemoModel {
    /** The DiT weights. */
    public static final String DIT = "dit-digits.safetensors";
    /** The digit classifier. */
    public static final String CLASSIFIER = "classifier.safetensors";
    /** Real digits in [-1, 1] with labels. */
    public static final String REAL = "digits-real.safetensors";
    /** PyTorch forward inputs and outputs. */
    public static final String REFERENCE_IO = "reference-io.safetensors";

    private DemoModel() {
    }

    /** @return true if this build bundles the demo files */
    public static boolean available() {
        return DemoModel.class.getResource(DIT) != null;
    }

    /**
     * @param name one of the constants
     * @return the file, extracted to {@code ${java.io.tmpdir}/nibble-demo-<user>/} if not already there with the same size
     * @throws CheckpointFormatException if this build has no such bundled file
     */
    public static Path file(String name) {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "nibble-demo-" + System.getProperty("user.name", "user"));
        Path target = dir.resolve(name);
        try (InputStream in = DemoModel.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new CheckpointFormatException(Path.of(name), null, "the demo file is not bundled in this build of nibble-model");
            }
            byte[] bytes = in.readAllBytes();
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length
                    && java.util.Arrays.equals(Files.readAllBytes(target), bytes)) {
                return target;
            }
            return AtomicFiles.write(target, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the demo file " + name + ": " + e.getMessage(), e);
        }
    }
}
