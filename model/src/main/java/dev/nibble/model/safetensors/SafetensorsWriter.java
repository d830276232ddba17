package dev.nibble.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.OutputWriteException;
import dev.nibble.api.Tensor;
import dev.nibble.api.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file by streaming: each {@link #add} appends the tensor's bytes to a temporary
 * body file in the target's directory (both temporary files are hidden {@code .<name>.*.tmp} files), so only one tensor is in memory at a time. {@link #commit()}
 * writes header and body through {@link AtomicFiles} (a second temporary file, forced, renamed atomically onto the target); an
 * interrupted or abandoned writer ({@link #close()} without commit) leaves the target untouched and
 * deletes its temporary files.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path target;
    private final Path body;
    private final FileChannel bodyChannel;
    private final List<TensorEntry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private long offset;
    private boolean done;

    private SafetensorsWriter(Path target) throws IOException {
        this.target = target.toAbsolutePath();
        Path dir = this.target.getParent();
        Files.createDirectories(dir);
        this.body = AtomicFiles.temporary(this.target);
        this.bodyChannel = FileChannel.open(body, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /**
     * @param target the file to write (replaced atomically on {@link #commit()})
     * @return a writer
     * @throws OutputWriteException if the directory cannot be written
     */
    public static SafetensorsWriter create(Path target) {
        try {
            return new SafetensorsWriter(target);
        } catch (IOException e) {
            throw new OutputWriteException(target, e);
        }
    }

    /**
     * @param key a metadata key
     * @param value its value
     * @return this
     */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * @param all metadata to add, in its order if it has one (LinkedHashMap, TreeMap), else sorted by key
     * @return this
     */
    public SafetensorsWriter metadata(Map<String, String> all) {
        // Map.of and HashMap iterate in an order that can change from run to run: write those sorted by key
        metadata.putAll(all instanceof java.util.SequencedMap<String, String> ? all : new java.util.TreeMap<>(all));
        return this;
    }

    /**
     * Appends a tensor's bytes to the body.
     *
     * @param name a unique name
     * @param t the tensor
     * @return this
     * @throws InvalidInputException if the name repeats
     */
    public SafetensorsWriter add(String name, Tensor t) {
        if (done) {
            throw new IllegalStateException("writer for " + target + " is already closed");
        }
        if (name.equals(SafetensorsFile.METADATA_KEY) || !names.add(name)) {
            throw new InvalidInputException("tensor name '" + name + "' repeats or is reserved (writing " + target + ")");
        }
        long n = t.data().byteSize();
        try {
            ByteBuffer buf = t.data().asByteBuffer();
            while (buf.hasRemaining()) {
                bodyChannel.write(buf);
            }
        } catch (IOException e) {
            close();
            throw new OutputWriteException(target, e);
        }
        entries.add(new TensorEntry(name, t.dtype(), t.shape(), offset, offset + n));
        offset += n;
        return this;
    }

    /** @return bytes of tensor data written so far */
    public long bytesWritten() {
        return offset;
    }

    /**
     * Writes the header and the body to a temporary file and renames it onto the target.
     *
     * @return the target
     */
    public Path commit() {
        if (done) {
            throw new IllegalStateException("writer for " + target + " is already closed");
        }
        try {
            bodyChannel.close();
            byte[] header = header();
            return AtomicFiles.write(target, out -> {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                AtomicFiles.writeFully(out, len);
                AtomicFiles.writeFully(out, ByteBuffer.wrap(header));
                try (FileChannel in = FileChannel.open(body, StandardOpenOption.READ)) {
                    long pos = 0;
                    long size = in.size();
                    while (pos < size) {
                        pos += in.transferTo(pos, size - pos, out);
                    }
                }
            });
        } catch (IOException e) {
            throw new OutputWriteException(target, e);
        } finally {
            done = true;
            AtomicFiles.deleteQuietly(body);
        }
    }

    private byte[] header() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(m::put);
        }
        for (TensorEntry e : entries) {
            ObjectNode o = root.putObject(e.name());
            o.put("dtype", e.dtype().safetensorsName());
            ArrayNode s = o.putArray("shape");
            for (long d : e.shape().dims()) {
                s.add(d);
            }
            o.putArray("data_offsets").add(e.begin()).add(e.end());
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // pad with spaces so the data area starts 8-byte aligned, as the reference writer does
        int padded = (json.length + 8 + 7) / 8 * 8 - 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        java.util.Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }


    /** Abandons the write unless committed: deletes the temporary files, leaves the target untouched. */
    @Override
    public void close() {
        if (!done) {
            done = true;
            try {
                bodyChannel.close();
            } catch (IOException ignored) {
                // deleting it next
            }
            AtomicFiles.deleteQuietly(body);
        }
    }

    /**
     * Writes a whole map of tensors at once.
     *
     * @param target the file
     * @param tensors tensors by name, in the order to write
     * @param metadata header metadata
     * @return the target
     */
    public static Path write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) {
        try (SafetensorsWriter w = create(target)) {
            w.metadata(metadata);
            tensors.forEach(w::add);
            return w.commit();
        }
    }


}
