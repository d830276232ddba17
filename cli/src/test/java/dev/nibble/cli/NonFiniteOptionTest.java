package dev.nibble.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.RandomDit;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nibble quantize --non-finite}: NaN weights fail naming the tensor by default, and are clamped on request. */
class NonFiniteOptionTest {
    @TempDir
    Path dir;

    private Path modelWithNaN() throws IOException {
        Path m = RandomDit.write(dir.resolve("nan.safetensors"), new DitConfig(4, 2, 1, 8, 1, 2, 2.0, 2, false, 8), 5, DType.F32);
        long at;
        try (SafetensorsFile f = SafetensorsFile.open(m)) {
            at = Files.size(m) - f.dataBytes() + f.entries().get("blocks.0.mlp.fc1.weight").begin() + 4 * 3;
        }
        try (FileChannel ch = FileChannel.open(m, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN), at);
        }
        return m;
    }

    @Test
    void failsByDefaultNamingTheTensorAndLeavesNoOutput() throws IOException {
        Path out = dir.resolve("q.safetensors");
        ModelCommandsTest.Run r = ModelCommandsTest.nibble("quantize", "--model", modelWithNaN().toString(), "--method", "rtn",
                "--bits", "w8a8", "--out", out.toString());
        assertThat(r.status()).isEqualTo(Nibble.EXIT_BAD_INPUT);
        assertThat(r.err()).contains("tensor 'blocks.0.mlp.fc1.weight'").contains("NaN").contains("--non-finite clamp");
        assertThat(out).doesNotExist();
    }

    @Test
    void clampWritesTheCheckpoint() throws IOException {
        Path out = dir.resolve("q.safetensors");
        ModelCommandsTest.Run r = ModelCommandsTest.nibble("quantize", "--model", modelWithNaN().toString(), "--method", "rtn",
                "--bits", "w8a8", "--out", out.toString(), "--non-finite", "clamp");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(out).exists();
    }

    @Test
    void rejectsAnUnknownPolicy() throws IOException {
        ModelCommandsTest.Run r = ModelCommandsTest.nibble("quantize", "--model", modelWithNaN().toString(), "--method", "rtn",
                "--out", dir.resolve("q.safetensors").toString(), "--non-finite", "ignore");
        assertThat(r.status()).isEqualTo(Nibble.EXIT_BAD_INPUT);
        assertThat(r.err()).contains("'fail' or 'clamp', got 'ignore'");
    }
}
