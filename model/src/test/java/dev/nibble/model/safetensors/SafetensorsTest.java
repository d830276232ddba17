package dev.nibble.model.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryDtypeAndMetadata() throws IOException {
        Map<String, Tensor> ts = new LinkedHashMap<>();
        ts.put("f32", Tensor.ofFloats(new float[] {1f, -2.5f, 3e-8f, Float.MAX_VALUE, 0f, 7f}, 2, 3));
        ts.put("f16", Tensor.ofFloats(new float[] {0.5f, -1f, 2f}, 3).to(DType.F16));
        ts.put("bf16", Tensor.ofFloats(new float[] {0.5f, -1f, 2f, 4f}, 2, 2).to(DType.BF16));
        ts.put("i8", Tensor.ofBytes(DType.I8, new byte[] {-128, 0, 127}, 3));
        ts.put("u8", Tensor.ofBytes(DType.U8, new byte[] {(byte) 255, 1}, 2));
        ts.put("i32", Tensor.ofInts(new int[] {Integer.MIN_VALUE, 5}, 2));
        Tensor i64 = Tensor.allocate(DType.I64, dev.nibble.api.Shape.of(2));
        i64.data().setAtIndex(Tensor.I64_LE, 1, Long.MAX_VALUE);
        ts.put("i64", i64);
        ts.put("i4", Tensor.ofBytes(DType.INT4, new byte[] {(byte) 0x8F, 0x07, 0x12, 0x03}, 2, 3));
        ts.put("u4", Tensor.ofBytes(DType.UINT4, new byte[] {(byte) 0xF0}, 1, 2));
        ts.put("nf4", Tensor.ofBytes(DType.NF4, new byte[] {0x21}, 1, 2));
        ts.put("empty", Tensor.allocate(DType.F32, dev.nibble.api.Shape.of(0, 4)));
        Path f = SafetensorsWriter.write(dir.resolve("a.safetensors"), ts, Map.of("k", "v", "json", "{\"a\":1}"));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertThat(sf.names()).containsExactlyElementsOf(ts.keySet());
            assertThat(sf.metadata()).containsEntry("k", "v").containsEntry("json", "{\"a\":1}");
            for (var e : ts.entrySet()) {
                Tensor r = sf.tensor(e.getKey());
                assertThat(r.dtype()).isEqualTo(e.getValue().dtype());
                assertThat(r.shape()).isEqualTo(e.getValue().shape());
                assertThat(r.toByteArray()).as(e.getKey()).isEqualTo(e.getValue().toByteArray());
            }
            assertThat(sf.tensor("i4").getLong(0)).isEqualTo(-1);
            assertThat(sf.tensor("i4").getLong(1)).isEqualTo(-8);
        }
        // data area aligned to 8 bytes; no temporary files left behind
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("a.safetensors");
        }
    }

    @Test
    void abandonedWriterLeavesTargetUntouched() throws IOException {
        Path f = dir.resolve("b.safetensors");
        Files.writeString(f, "old");
        try (SafetensorsWriter w = SafetensorsWriter.create(f)) {
            w.add("x", Tensor.ofFloats(new float[] {1}, 1));
        }
        assertThat(Files.readString(f)).isEqualTo("old");
        try (var files = Files.list(dir)) {
            assertThat(files).hasSize(1);
        }
    }

    @Test
    void readsTensorsZeroCopyFromTheMap() {
        Path f = SafetensorsWriter.write(dir.resolve("c.safetensors"),
                Map.of("w", Tensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2)), Map.of());
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            Tensor a = sf.tensor("w");
            Tensor b = sf.tensor("w");
            assertThat(a.data().address()).isEqualTo(b.data().address());
            assertThat(a.data().isMapped()).isTrue();
            assertThat(a.toFloatArray()).containsExactly(1, 2, 3, 4);
        }
    }

    // ---- validation: each failure is typed and names the file and the tensor ----

    private Path raw(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static void assertFails(Path p, String tensor, String fragment) {
        assertThatThrownBy(() -> SafetensorsFile.open(p).close())
                .isInstanceOf(CheckpointFormatException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining(fragment)
                .satisfies(e -> assertThat(((CheckpointFormatException) e).tensor()).isEqualTo(tensor));
    }

    @Test
    void rejectsMissingAndTooShortFiles() throws IOException {
        assertFails(dir.resolve("nope.safetensors"), null, "no such file");
        Path p = dir.resolve("short");
        Files.write(p, new byte[] {1, 2, 3});
        assertFails(p, null, "too short");
    }

    @Test
    void rejectsHeaderLengthBeyondFileOrCap() throws IOException {
        Path p = dir.resolve("len");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Files.write(p, b.array());
        assertFails(p, null, "header length 1000");
        ByteBuffer neg = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5);
        Files.write(p, neg.array());
        assertFails(p, null, "does not fit");
    }

    @Test
    void rejectsHeaderOverTheCapBeforeAllocating() throws IOException {
        Path p = dir.resolve("cap");
        long huge = SafetensorsFile.MAX_HEADER_BYTES + 1;
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, huge));
            ch.write(ByteBuffer.wrap(new byte[] {0}), 8 + huge); // sparse file large enough to hold it
        }
        assertFails(p, null, "exceeds the limit");
    }

    @Test
    void rejectsBadUtf8AndBadJson() throws IOException {
        Path p = dir.resolve("utf");
        byte[] h = {'{', (byte) 0xC3, (byte) 0x28, '}'};
        ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
        Files.write(p, b.array());
        assertFails(p, null, "UTF-8");
        assertFails(raw("json", "{\"a\": ", 0), null, "not valid JSON");
        assertFails(raw("arr", "[1,2]", 0), null, "not a JSON object");
        assertFails(raw("meta", "{\"__metadata__\":{\"a\":1}}", 0), null, "not a string");
    }

    @Test
    void rejectsBadEntries() throws IOException {
        assertFails(raw("dt", "{\"w\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "w", "unknown dtype 'F8'");
        assertFails(raw("shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "w", "shape");
        assertFails(raw("off", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "w", "data_offsets");
        assertFails(raw("desc", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), "w", "ascending");
        assertFails(raw("past", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), "w", "past the end");
        assertFails(raw("size", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "w", "needs 8 bytes");
        assertFails(raw("pack", "{\"w\":{\"dtype\":\"I4\",\"shape\":[2,3],\"data_offsets\":[0,3]}}", 4), "w", "needs 4 bytes");
        assertFails(raw("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "b", "overlap tensor 'a'");
    }

    @Test
    void truncatedFileNamesTheTensorThatRunsPastTheEnd() throws IOException {
        Path f = SafetensorsWriter.write(dir.resolve("t.safetensors"), Map.of("w", Tensor.ofFloats(new float[64], 64)), Map.of());
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 10));
        assertFails(f, "w", "past the end");
    }

    @Test
    void typedAccessNamesTheTensor() {
        Path f = SafetensorsWriter.write(dir.resolve("d.safetensors"), Map.of("w", Tensor.ofFloats(new float[4], 2, 2)), Map.of());
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertThatThrownBy(() -> sf.tensor("w", DType.F32, 4, 1)).isInstanceOf(CheckpointFormatException.class)
                    .hasMessageContaining("'w'").hasMessageContaining("expected F32 [4, 1]");
            assertThatThrownBy(() -> sf.tensor("q")).isInstanceOf(CheckpointFormatException.class)
                    .hasMessageContaining("'q'").hasMessageContaining("missing");
        }
    }
}
