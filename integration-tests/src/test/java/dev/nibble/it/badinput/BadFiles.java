package dev.nibble.it.badinput;

import dev.nibble.api.DType;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.RandomDit;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import dev.nibble.model.safetensors.TensorEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/** Makers of broken files: raw safetensors from a header string, and damaged copies of a tiny DiT. */
final class BadFiles {
    /** 2×2 patches of a 4×4 one-channel image, D = 8, one block: K = 8 in every block layer. */
    static final DitConfig TINY = new DitConfig(4, 2, 1, 8, 1, 2, 2.0, 2, false, 8);

    private BadFiles() {
    }

    /** @return a file of the 8-byte little-endian header length, the header and the data */
    static Path raw(Path file, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return bytes(file, b.array());
    }

    static Path bytes(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path tinyDit(Path file) {
        return RandomDit.write(file, TINY, 11, DType.F32);
    }

    static Path tinyDit(Path file, DitConfig c) {
        return RandomDit.write(file, c, 11, DType.F32);
    }

    /** Overwrites one F32 element of a tensor in place. */
    static Path poke(Path file, String tensor, int index, float value) {
        long at;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorEntry e = f.entries().get(tensor);
            at = Files.size(file) - f.dataBytes() + e.begin() + 4L * index;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value), at);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Copies a file's tensors and metadata into a new file, letting the caller change both.
     *
     * @param from the source
     * @param to the copy
     * @param edit given the metadata (mutable) and the writer, before the tensors are written; the
     *     tensors named in {@code skip} are left out
     */
    static Path copy(Path from, Path to, BiConsumer<Map<String, String>, SafetensorsWriter> edit, String... skip) {
        try (SafetensorsFile f = SafetensorsFile.open(from); SafetensorsWriter w = SafetensorsWriter.create(to)) {
            Map<String, String> meta = new LinkedHashMap<>(f.metadata());
            edit.accept(meta, w);
            w.metadata(meta);
            for (String n : f.names()) {
                if (!java.util.Arrays.asList(skip).contains(n)) {
                    w.add(n, f.tensor(n));
                }
            }
            return w.commit();
        }
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
