package dev.nibble.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A safetensors file opened through a memory map. Tensors are zero-copy views of the mapped
 * region and stay valid until {@link #close()}; files over 2 GB are fine (the map is a
 * {@link MemorySegment}, not a {@code ByteBuffer}).
 *
 * <p>Opening validates the whole header strictly: the file holds the 8-byte length, the header
 * fits in the file and under {@link #MAX_HEADER_BYTES}, it is UTF-8 JSON of the expected shape,
 * every dtype is known, every tensor's byte range lies inside the data area, has exactly
 * {@code dtype × shape} bytes and overlaps no other. Any violation is a
 * {@link CheckpointFormatException} naming the file, the tensor and the problem.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The largest header accepted (the reference implementation's limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** The header key holding string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorEntry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorEntry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Opens and validates a file.
     *
     * @param path the file
     * @return the open file; close it to unmap
     * @throws CheckpointFormatException if the file is missing, unreadable or malformed
     */
    public static SafetensorsFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new CheckpointFormatException(path, null, Files.exists(path) ? "not a regular file" : "no such file");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new CheckpointFormatException(path, null, "file has " + size
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > size - 8) {
                throw new CheckpointFormatException(path, null, "header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in a file of " + size + " bytes (truncated or not safetensors)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointFormatException(path, null, "header length " + headerLen
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            String header = decodeUtf8(path, hb.flip());
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Parsed parsed = parseHeader(path, header, dataSize);
            Arena arena = Arena.ofShared();
            MemorySegment whole;
            try {
                whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
            return new SafetensorsFile(path, arena, whole.asSlice(dataStart, dataSize), parsed.entries, parsed.metadata);
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(path, null, "no such file");
        } catch (IOException e) {
            throw new CheckpointFormatException(path, null, "cannot read: " + e.getMessage());
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    private static String decodeUtf8(Path path, ByteBuffer bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointFormatException(path, null, "header is not valid UTF-8");
        }
    }

    private record Parsed(Map<String, TensorEntry> entries, Map<String, String> metadata) {
    }

    private static Parsed parseHeader(Path path, String header, long dataSize) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var at = e.getLocation();
            throw new CheckpointFormatException(path, null, "header is not valid JSON"
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ": "
                    + String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("").replaceFirst(" \\(start marker at .*", ""));
        } catch (IOException e) {
            throw new CheckpointFormatException(path, null, "header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(path, null, "header is not a JSON object");
        }
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!v.isObject()) {
                    throw new CheckpointFormatException(path, null, "__metadata__ must be an object of strings");
                }
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new CheckpointFormatException(path, null, "__metadata__ value '" + m.getKey()
                                + "' is not a string");
                    }
                    metadata.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            entries.put(name, parseEntry(path, name, v, dataSize));
        }
        checkOverlaps(path, entries.values());
        return new Parsed(Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static TensorEntry parseEntry(Path path, String name, JsonNode v, long dataSize) {
        if (!v.isObject()) {
            throw new CheckpointFormatException(path, name, "header entry is not an object");
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) {
            throw new CheckpointFormatException(path, name, "missing or non-string 'dtype'");
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensorsName(dt.textValue());
        } catch (IllegalArgumentException ex) {
            throw new CheckpointFormatException(path, name, "unknown dtype '" + dt.textValue() + "'");
        }
        if (sh == null || !sh.isArray()) {
            throw new CheckpointFormatException(path, name, "missing or non-array 'shape'");
        }
        long[] dims = new long[sh.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new CheckpointFormatException(path, name, "shape " + sh + " has a dimension that is not a non-negative integer");
            }
            dims[i] = d.longValue();
        }
        Shape shape = Shape.of(dims);
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CheckpointFormatException(path, name, "'data_offsets' must be two integers [begin, end]");
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw new CheckpointFormatException(path, name, "data_offsets [" + begin + ", " + end + "] are not an ascending range");
        }
        if (end > dataSize) {
            throw new CheckpointFormatException(path, name, "data_offsets [" + begin + ", " + end
                    + "] run past the end of the data area (" + dataSize + " bytes; file truncated?)");
        }
        long expected;
        try {
            expected = dtype.byteSize(shape);
        } catch (ArithmeticException ex) {
            throw new CheckpointFormatException(path, name, "shape " + shape + " overflows");
        }
        if (expected != end - begin) {
            throw new CheckpointFormatException(path, name, dtype.safetensorsName() + " " + shape + " needs " + expected
                    + " bytes but data_offsets give " + (end - begin));
        }
        return new TensorEntry(name, dtype, shape, begin, end);
    }

    private static void checkOverlaps(Path path, java.util.Collection<TensorEntry> all) {
        List<TensorEntry> sorted = new ArrayList<>(all);
        sorted.removeIf(e -> e.byteLength() == 0);
        sorted.sort(Comparator.comparingLong(TensorEntry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            TensorEntry prev = sorted.get(i - 1);
            TensorEntry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new CheckpointFormatException(path, cur.name(), "bytes [" + cur.begin() + ", " + cur.end()
                        + ") overlap tensor '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + ")");
            }
        }
    }

    /** @return the file */
    public Path path() {
        return path;
    }

    /** @return the tensor names, in header order */
    public Set<String> names() {
        return entries.keySet();
    }

    /** @return every header entry by name, in header order */
    public Map<String, TensorEntry> entries() {
        return entries;
    }

    /** @return the {@code __metadata__} strings */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * @param name a tensor name
     * @return true if the file has it
     */
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /**
     * @param name a tensor name
     * @return a zero-copy view of the tensor, valid until this file is closed
     * @throws CheckpointFormatException if the file has no such tensor
     */
    public Tensor tensor(String name) {
        TensorEntry e = entries.get(name);
        if (e == null) {
            throw new CheckpointFormatException(path, name, "missing tensor");
        }
        return Tensor.wrap(e.dtype(), e.shape(), data.asSlice(e.begin(), e.byteLength()));
    }

    /**
     * @param name a tensor name
     * @return the tensor, if present
     */
    public Optional<Tensor> find(String name) {
        return entries.containsKey(name) ? Optional.of(tensor(name)) : Optional.empty();
    }

    /**
     * A tensor that must have a given type and shape.
     *
     * @param name a tensor name
     * @param dtype the required type
     * @param dims the required shape
     * @return the view
     * @throws CheckpointFormatException naming the tensor if it is missing or does not fit
     */
    public Tensor tensor(String name, DType dtype, long... dims) {
        Tensor t = tensor(name);
        if (t.dtype() != dtype || !t.shape().equals(Shape.of(dims))) {
            throw new CheckpointFormatException(path, name, "expected " + dtype.safetensorsName() + " "
                    + Shape.of(dims) + ", found " + t.dtype().safetensorsName() + " " + t.shape());
        }
        return t;
    }

    /** @return bytes of tensor data (the file size less the header) */
    public long dataBytes() {
        return data.byteSize();
    }

    /** Unmaps the file; tensor views become invalid. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
