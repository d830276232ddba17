package dev.nibble.model.dit;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.model.checkpoint.QuantizedCheckpoint;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A DiT ready to run: its config, one plan per linear layer (dense plans for full-precision layers,
 * quantized plans from a method), the label table and the positional embedding. Tensors are views
 * of the checkpoint's memory map where possible; close the model to unmap it.
 */
public final class DitModel implements AutoCloseable {
    private final DitConfig config;
    private final Path source;
    private final Map<String, QuantizedLinear> plans;
    private final Tensor labelTable;
    private final Tensor posEmbed;
    private final Map<String, String> metadata;
    private final AutoCloseable resource;

    /**
     * @param config the shape
     * @param source the file it came from (or null)
     * @param plans a plan for every layer of {@link DitLayers#all}
     * @param labelTable F32 or 16-bit {@code [numClasses + 1, D]}
     * @param posEmbed {@code [T, D]} (or {@code [1, T, D]})
     * @param metadata the checkpoint's metadata
     * @param resource closed with the model (the memory map), or null
     */
    public DitModel(DitConfig config, Path source, Map<String, QuantizedLinear> plans, Tensor labelTable, Tensor posEmbed,
            Map<String, String> metadata, AutoCloseable resource) {
        this.config = config;
        this.source = source;
        this.plans = Collections.unmodifiableMap(new LinkedHashMap<>(plans));
        this.labelTable = labelTable;
        this.posEmbed = posEmbed;
        this.metadata = Map.copyOf(metadata);
        this.resource = resource;
        for (DitLayers.Spec s : DitLayers.all(config)) {
            QuantizedLinear p = plans.get(s.name());
            if (p == null || p.inFeatures() != s.in() || p.outFeatures() != s.out()) {
                throw new CheckpointFormatException(source, s.name(), p == null ? "missing layer"
                        : "layer is " + p.inFeatures() + "->" + p.outFeatures() + ", the config needs " + s.in() + "->" + s.out());
            }
        }
    }

    /**
     * Loads a full-precision DiT checkpoint or a Nibble quantized checkpoint (recognised by its
     * format-version metadata).
     *
     * @param path the file
     * @return the model; close it when done
     * @throws CheckpointFormatException naming the file and tensor if the layout is wrong
     */
    public static DitModel load(Path path) {
        SafetensorsFile f = SafetensorsFile.open(path);
        try {
            if (f.metadata().containsKey(QuantizedCheckpoint.VERSION_KEY)) {
                return QuantizedCheckpoint.read(f);
            }
            return fromFullPrecision(f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /**
     * @param f an open facebookresearch/DiT-layout checkpoint with its config in the metadata
     * @return the model with dense plans; it owns (and closes) the file
     */
    public static DitModel fromFullPrecision(SafetensorsFile f) {
        DitConfig c = config(f);
        Map<String, QuantizedLinear> plans = new LinkedHashMap<>();
        for (DitLayers.Spec s : DitLayers.all(c)) {
            Tensor w = floatTensor(f, s.name() + ".weight");
            long[] want = s.role() == dev.nibble.api.method.LayerRole.PATCH_EMBED
                    ? new long[] {s.out(), c.inChannels(), c.patchSize(), c.patchSize()} : new long[] {s.out(), s.in()};
            if (!w.shape().equals(Shape.of(want))) {
                throw new CheckpointFormatException(f.path(), s.name() + ".weight", "shape " + w.shape()
                        + ", the config needs " + Shape.of(want));
            }
            w = w.reshape(s.out(), s.in());
            Tensor b = f.contains(s.name() + ".bias") ? floatTensor(f, s.name() + ".bias") : null;
            if (b != null && !b.shape().equals(Shape.of(s.out()))) {
                throw new CheckpointFormatException(f.path(), s.name() + ".bias", "shape " + b.shape()
                        + ", the config needs [" + s.out() + "]");
            }
            plans.put(s.name(), QuantizedLinear.builder(s.name(), s.in(), s.out()).denseWeight(w)
                    .bias(b == null ? null : b.to(DType.F32)).build());
        }
        return new DitModel(c, f.path(), plans, labelTable(f, c), posEmbed(f, c), f.metadata(), f);
    }

    /**
     * @param f an open checkpoint
     * @return its DiT config
     * @throws CheckpointFormatException if the metadata has none
     */
    public static DitConfig config(SafetensorsFile f) {
        String json = f.metadata().get(DitConfig.METADATA_KEY);
        if (json == null) {
            throw new CheckpointFormatException(f.path(), null, "no DiT config: __metadata__ lacks '" + DitConfig.METADATA_KEY
                    + "' (is this a DiT checkpoint in the facebookresearch/DiT layout?)");
        }
        return DitConfig.fromJson(json, f.path());
    }

    /**
     * @param f an open checkpoint
     * @param c its config
     * @return the label table, checked
     */
    public static Tensor labelTable(SafetensorsFile f, DitConfig c) {
        Tensor t = floatTensor(f, DitLayers.LABEL_TABLE);
        if (!t.shape().equals(Shape.of(c.numClasses() + 1, c.hiddenSize()))) {
            throw new CheckpointFormatException(f.path(), DitLayers.LABEL_TABLE, "shape " + t.shape() + ", the config needs ["
                    + (c.numClasses() + 1) + ", " + c.hiddenSize() + "] (classes + the null class)");
        }
        return t;
    }

    /**
     * @param f an open checkpoint
     * @param c its config
     * @return the positional embedding as {@code [T, D]}
     */
    public static Tensor posEmbed(SafetensorsFile f, DitConfig c) {
        Tensor t = floatTensor(f, DitLayers.POS_EMBED);
        if (t.elementCount() != (long) c.tokens() * c.hiddenSize() || t.shape().cols() != c.hiddenSize()) {
            throw new CheckpointFormatException(f.path(), DitLayers.POS_EMBED, "shape " + t.shape() + ", the config needs [1, "
                    + c.tokens() + ", " + c.hiddenSize() + "]");
        }
        return t.reshape(c.tokens(), c.hiddenSize());
    }

    private static Tensor floatTensor(SafetensorsFile f, String name) {
        Tensor t = f.tensor(name);
        if (!t.dtype().isFloatingPoint()) {
            throw new CheckpointFormatException(f.path(), name, "is " + t.dtype().safetensorsName() + ", expected F32, F16 or BF16");
        }
        return t;
    }

    /** @return the config */
    public DitConfig config() {
        return config;
    }

    /** @return the file it came from, or null */
    public Path source() {
        return source;
    }

    /** @return every layer's plan by name, in forward order */
    public Map<String, QuantizedLinear> plans() {
        return plans;
    }

    /** @return the label table {@code [numClasses + 1, D]} */
    public Tensor labelTable() {
        return labelTable;
    }

    /** @return the positional embedding {@code [T, D]} */
    public Tensor posEmbed() {
        return posEmbed;
    }

    /** @return the checkpoint metadata */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The full-precision layers as a method sees them.
     *
     * @return every layer with a dense plan, in forward order
     */
    public List<LinearLayer> linearLayers() {
        List<LinearLayer> out = new ArrayList<>();
        for (DitLayers.Spec s : DitLayers.all(config)) {
            QuantizedLinear p = plans.get(s.name());
            if (p.denseWeight() != null) {
                out.add(new LinearLayer(s.name(), s.role(), p.denseWeight(), p.bias()));
            }
        }
        return out;
    }

    /**
     * @param replaced plans to put in place of layers of the same name
     * @return a model sharing everything else (and not owning the memory map)
     */
    public DitModel withPlans(Map<String, QuantizedLinear> replaced) {
        Map<String, QuantizedLinear> m = new LinkedHashMap<>(plans);
        for (var e : replaced.entrySet()) {
            if (!m.containsKey(e.getKey())) {
                throw new IllegalArgumentException("no layer '" + e.getKey() + "' in this DiT");
            }
            m.put(e.getKey(), e.getValue());
        }
        return new DitModel(config, source, m, labelTable, posEmbed, metadata, null);
    }

    /** @return bytes of every stored tensor (plans, label table, positional embedding) */
    public long byteSize() {
        long n = labelTable.data().byteSize() + posEmbed.data().byteSize();
        for (QuantizedLinear p : plans.values()) {
            n += p.byteSize();
        }
        return n;
    }

    /** Unmaps the checkpoint this model was read from, if it owns it. */
    @Override
    public void close() {
        if (resource != null) {
            try {
                resource.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
