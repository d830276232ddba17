package dev.nibble.it.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.TensorEntry;
import java.nio.file.Path;

/**
 * Fuzzes the safetensors reader with whole files. Opening either succeeds, and then every tensor is
 * a view inside the data area with exactly the bytes its header promises (all of them read), or
 * fails with a {@link CheckpointFormatException} naming the file. Anything else escaping (an
 * unchecked exception, an OutOfMemoryError from a forged size, an out-of-bounds read) is a finding.
 * Seeds: {@code SafetensorsFuzzTestInputs/safetensors/} (regression inputs, replayed by every build).
 */
class SafetensorsFuzzTest {
    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"",
        "\"BF16\"", "\"I8\"", "\"U8\"", "\"I32\"", "\"I4\"", "\"U4\"", "\"F64\"", "\"I64\"", "9223372036854775807",
        "4611686018427387904", "-1", "1e400"})
    void safetensors(byte[] bytes) {
        Path file = FuzzFiles.write("fuzz.safetensors", bytes);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            long dataBytes = f.dataBytes();
            if (dataBytes != bytes.length - 8 - littleEndianLong(bytes)) {
                throw new AssertionError("data area of " + dataBytes + " bytes in a file of " + bytes.length);
            }
            for (TensorEntry e : f.entries().values()) {
                if (e.begin() < 0 || e.end() < e.begin() || e.end() > dataBytes) {
                    throw new AssertionError(e + " lies outside the data area of " + dataBytes + " bytes");
                }
                Tensor t = f.tensor(e.name());
                FuzzFiles.touch(e.name(), t);
                if (t.dtype().isFloatingPoint() && t.elementCount() <= 4096) {
                    t.toFloatArray();
                }
            }
        } catch (CheckpointFormatException e) {
            FuzzFiles.checkNamesFile(e, file);
        }
    }

    private static long littleEndianLong(byte[] b) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }
}
