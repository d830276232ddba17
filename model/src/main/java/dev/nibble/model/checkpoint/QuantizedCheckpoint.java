package dev.nibble.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitLayers;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Nibble's quantized checkpoint: a safetensors file with one group of tensors per linear layer and
 * a JSON descriptor of every layer in the metadata (docs/format.md). Writing streams: each plan's
 * tensors go to disk as the plan is added, so a writer holds one layer at a time.
 */
public final class QuantizedCheckpoint {
    /** Metadata key of the format version. */
    public static final String VERSION_KEY = "nibble.format.version";
    /** The version this code writes and the newest it reads. */
    public static final int VERSION = 1;
    /** Metadata key of the JSON array of layer descriptors. */
    public static final String LAYERS_KEY = "nibble.layers";
    /** Metadata key of the method id. */
    public static final String METHOD_KEY = "nibble.method";
    /** Metadata key of the precision. */
    public static final String PRECISION_KEY = "nibble.precision";
    /** Metadata key of the method options (JSON object). */
    public static final String OPTIONS_KEY = "nibble.options";
    /** Metadata key of a summary of the schemes in use. */
    public static final String SCHEME_KEY = "nibble.scheme";
    /** Metadata key of a summary of the rotations in use. */
    public static final String ROTATION_KEY = "nibble.rotation";

    private QuantizedCheckpoint() {
    }

    /** Streams plans and extra tensors into a checkpoint; commit renames it into place. */
    public static final class Writer implements AutoCloseable {
        private final SafetensorsWriter out;
        private final ArrayNode layers = PlanCodec.JSON.createArrayNode();
        private final java.util.Set<String> schemes = new java.util.TreeSet<>();
        private final java.util.Set<String> rotations = new java.util.TreeSet<>();

        private Writer(Path target, Map<String, String> metadata) {
            out = SafetensorsWriter.create(target);
            out.metadata(metadata);
            out.metadata(VERSION_KEY, Integer.toString(VERSION));
        }

        /**
         * Writes one layer's tensors now and records its descriptor.
         *
         * @param p the plan
         * @return this
         */
        public Writer addLayer(QuantizedLinear p) {
            String n = p.name();
            ObjectNode d = layers.addObject();
            d.put("name", n).put("in_features", p.inFeatures()).put("out_features", p.outFeatures());
            d.set("rotation", PlanCodec.rotation(p.rotation()));
            d.set("activation", PlanCodec.activation(p.activation()));
            rotations.add(p.rotation().describe());
            if (p.weight() != null) {
                QuantizedTensor w = p.weight();
                d.put("kind", "quantized");
                d.set("weight_scheme", PlanCodec.scheme(w.scheme()));
                schemes.add("w:" + w.scheme().describe());
                out.add(n + ".qweight", w.codes());
                out.add(n + ".wscales", w.scales());
                if (w.zeros() != null) {
                    out.add(n + ".wzeros", w.zeros());
                }
            } else {
                d.put("kind", "dense");
                out.add(n + ".weight", p.denseWeight());
            }
            if (p.activation() instanceof ActivationQuant.Dynamic dy) {
                schemes.add("a:" + dy.scheme().describe());
            }
            if (p.activation() instanceof ActivationQuant.StaticTable st) {
                schemes.add("a:" + st.scheme().describe());
                out.add(n + ".ascales", Tensor.ofFloats(st.scales(), st.steps()));
                out.add(n + ".azeros", Tensor.ofInts(st.zeroPoints(), st.steps()));
            }
            if (p.rotation() instanceof Rotation.Dense r) {
                out.add(n + ".rotation", r.matrix());
            }
            put(n + ".smooth", p.smooth());
            put(n + ".shift", p.shift());
            if (p.lowRank() != null) {
                out.add(n + ".proj_down", p.lowRank().down());
                out.add(n + ".proj_up", p.lowRank().up());
            }
            put(n + ".bias", p.bias());
            ObjectNode meta = d.putObject("metadata");
            new java.util.TreeMap<>(p.metadata()).forEach(meta::put); // key order: same bytes on every run
            return this;
        }

        private void put(String name, Tensor t) {
            if (t != null) {
                out.add(name, t);
            }
        }

        /**
         * @param name a tensor name outside every layer (embeddings)
         * @param t the tensor
         * @return this
         */
        public Writer addTensor(String name, Tensor t) {
            out.add(name, t);
            return this;
        }

        /** @return bytes of tensor data written so far */
        public long bytesWritten() {
            return out.bytesWritten();
        }

        /** @return the committed file */
        public Path commit() {
            out.metadata(LAYERS_KEY, layers.toString());
            out.metadata(SCHEME_KEY, String.join(", ", schemes));
            out.metadata(ROTATION_KEY, String.join(", ", rotations));
            return out.commit();
        }

        /** Abandons an uncommitted write. */
        @Override
        public void close() {
            out.close();
        }
    }

    /**
     * @param target the file (written atomically on commit)
     * @param metadata header metadata (DiT config, method, precision, options)
     * @return a streaming writer
     */
    public static Writer writer(Path target, Map<String, String> metadata) {
        return new Writer(target, metadata);
    }

    /**
     * Writes a whole model.
     *
     * @param model the model
     * @param target the file
     * @param metadata extra metadata (method, precision, options)
     * @return the file
     */
    public static Path write(DitModel model, Path target, Map<String, String> metadata) {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put(DitConfig.METADATA_KEY, model.config().toJson());
        try (Writer w = writer(target, m)) {
            w.addTensor(DitLayers.LABEL_TABLE, model.labelTable());
            w.addTensor(DitLayers.POS_EMBED, model.posEmbed());
            for (QuantizedLinear p : model.plans().values()) {
                w.addLayer(p);
            }
            return w.commit();
        }
    }

    /**
     * Checks the format version.
     *
     * @param f an open file
     * @throws CheckpointFormatException if the version is missing, malformed or newer than {@link #VERSION}
     */
    public static void checkVersion(SafetensorsFile f) {
        String v = f.metadata().get(VERSION_KEY);
        if (v == null) {
            throw new CheckpointFormatException(f.path(), null, "not a Nibble quantized checkpoint: no '" + VERSION_KEY + "'");
        }
        int version;
        try {
            version = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new CheckpointFormatException(f.path(), null, VERSION_KEY + " '" + v + "' is not an integer");
        }
        if (version > VERSION) {
            throw new CheckpointFormatException(f.path(), null, "format version " + version + " is newer than this Nibble reads ("
                    + VERSION + "); upgrade Nibble to read it");
        }
        if (version < 1) {
            throw new CheckpointFormatException(f.path(), null, "format version " + version + " is not valid");
        }
    }

    /**
     * Rebuilds every layer's plan. Tensors are views of the file's memory map.
     *
     * @param f an open quantized checkpoint
     * @return plans by layer name, in file order
     */
    public static Map<String, QuantizedLinear> readPlans(SafetensorsFile f) {
        checkVersion(f);
        Path file = f.path();
        String json = f.metadata().get(LAYERS_KEY);
        JsonNode arr;
        try {
            arr = json == null ? null : PlanCodec.JSON.readTree(json);
        } catch (IOException e) {
            arr = null;
        }
        if (arr == null || !arr.isArray()) {
            throw new CheckpointFormatException(file, null, "metadata '" + LAYERS_KEY + "' is missing or not a JSON array");
        }
        Map<String, QuantizedLinear> plans = new LinkedHashMap<>();
        for (JsonNode d : arr) {
            String n = PlanCodec.text(d, "name", file, null);
            try {
                plans.put(n, readLayer(f, d, n));
            } catch (IllegalArgumentException e) {
                throw new CheckpointFormatException(file, n, e.getMessage());
            }
        }
        return plans;
    }

    private static QuantizedLinear readLayer(SafetensorsFile f, JsonNode d, String n) {
        Path file = f.path();
        int in = d.path("in_features").asInt(-1);
        int out = d.path("out_features").asInt(-1);
        if (in <= 0 || out <= 0) {
            throw new CheckpointFormatException(file, n, "layer descriptor lacks positive in_features/out_features");
        }
        Rotation rot = PlanCodec.rotation(d.path("rotation"), f.find(n + ".rotation").orElse(null), file, n);
        QuantizedLinear.Builder b = QuantizedLinear.builder(n, in, out).rotation(rot);
        String kind = PlanCodec.text(d, "kind", file, n);
        switch (kind) {
            case "quantized" -> {
                QuantScheme ws = PlanCodec.scheme(d.path("weight_scheme"), file, n);
                Tensor codes = f.tensor(n + ".qweight");
                if (codes.dtype() != ws.codeType()) {
                    throw new CheckpointFormatException(file, n + ".qweight", "dtype " + codes.dtype().safetensorsName()
                            + " does not match scheme " + ws.describe() + " (" + ws.codeType().safetensorsName() + ")");
                }
                b.weight(new QuantizedTensor(codes, f.tensor(n + ".wscales"), f.find(n + ".wzeros").orElse(null), ws));
            }
            case "dense" -> b.denseWeight(f.tensor(n + ".weight"));
            default -> throw new CheckpointFormatException(file, n, "unknown layer kind '" + kind + "'");
        }
        JsonNode a = d.path("activation");
        String ak = PlanCodec.text(a, "kind", file, n);
        b.activation(switch (ak) {
            case "none" -> new ActivationQuant.None();
            case "dynamic" -> new ActivationQuant.Dynamic(PlanCodec.scheme(a.path("scheme"), file, n));
            case "static" -> {
                Tensor sc = f.tensor(n + ".ascales");
                Tensor zp = f.tensor(n + ".azeros");
                if (sc.dtype() != DType.F32 || zp.dtype() != DType.I32) {
                    throw new CheckpointFormatException(file, n + ".ascales", "static tables must be F32 scales and I32 zero points");
                }
                yield new ActivationQuant.StaticTable(PlanCodec.scheme(a.path("scheme"), file, n), sc.toFloatArray(), zp.toIntArray());
            }
            default -> throw new CheckpointFormatException(file, n, "unknown activation kind '" + ak + "'");
        });
        b.smooth(f.find(n + ".smooth").orElse(null));
        b.shift(f.find(n + ".shift").orElse(null));
        if (f.contains(n + ".proj_down") || f.contains(n + ".proj_up")) {
            b.lowRank(new LowRank(f.tensor(n + ".proj_down"), f.tensor(n + ".proj_up")));
        }
        b.bias(f.find(n + ".bias").orElse(null));
        d.path("metadata").properties().forEach(e -> b.meta(e.getKey(), e.getValue().asText()));
        return b.build();
    }

    /**
     * Reads a quantized DiT.
     *
     * @param f an open quantized checkpoint; the model owns and closes it
     * @return the model
     */
    public static DitModel read(SafetensorsFile f) {
        Map<String, QuantizedLinear> plans = readPlans(f);
        DitConfig c = DitModel.config(f);
        return new DitModel(c, f.path(), plans, DitModel.labelTable(f, c), DitModel.posEmbed(f, c), f.metadata(), f);
    }
}
