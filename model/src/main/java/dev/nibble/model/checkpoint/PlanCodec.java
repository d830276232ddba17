package dev.nibble.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import java.nio.file.Path;

/** JSON forms of schemes, rotations and activation quantization, as stored in checkpoint metadata. */
final class PlanCodec {
    static final ObjectMapper JSON = new ObjectMapper();

    private PlanCodec() {
    }

    static ObjectNode scheme(QuantScheme s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", s.format().name()).put("bits", s.bits()).put("signed", s.signed()).put("symmetric", s.symmetric())
                .put("granularity", s.granularity().name()).put("group_size", s.groupSize())
                .put("narrow_range", s.narrowRange()).put("clip_ratio", s.clipRatio()).put("dynamic", s.dynamic());
        return o;
    }

    static QuantScheme scheme(JsonNode o, Path file, String layer) {
        try {
            return new QuantScheme(QuantScheme.Format.valueOf(text(o, "format", file, layer)), o.path("bits").asInt(),
                    o.path("signed").asBoolean(), o.path("symmetric").asBoolean(),
                    Granularity.valueOf(text(o, "granularity", file, layer)), o.path("group_size").asInt(),
                    o.path("narrow_range").asBoolean(), (float) o.path("clip_ratio").asDouble(1.0), o.path("dynamic").asBoolean());
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, layer, "bad quantization scheme " + o + ": " + e.getMessage());
        }
    }

    static ObjectNode rotation(Rotation r) {
        ObjectNode o = JSON.createObjectNode();
        switch (r) {
            case Rotation.Identity i -> o.put("kind", "identity");
            case Rotation.RegularHadamard h -> o.put("kind", "regular-hadamard").put("block_size", h.blockSize());
            case Rotation.SylvesterHadamard h -> o.put("kind", "sylvester-hadamard").put("block_size", h.blockSize());
            case Rotation.Dense d -> o.put("kind", "dense").put("label", d.label());
        }
        return o;
    }

    static Rotation rotation(JsonNode o, Tensor denseMatrix, Path file, String layer) {
        String kind = text(o, "kind", file, layer);
        try {
            return switch (kind) {
                case "identity" -> new Rotation.Identity();
                case "regular-hadamard" -> new Rotation.RegularHadamard(o.path("block_size").asInt());
                case "sylvester-hadamard" -> new Rotation.SylvesterHadamard(o.path("block_size").asInt());
                case "dense" -> {
                    if (denseMatrix == null) {
                        throw new CheckpointFormatException(file, layer + ".rotation", "missing tensor for a dense rotation");
                    }
                    yield new Rotation.Dense(denseMatrix, o.path("label").asText("dense"));
                }
                default -> throw new CheckpointFormatException(file, layer, "unknown rotation kind '" + kind + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, layer, "bad rotation " + o + ": " + e.getMessage());
        }
    }

    static ObjectNode activation(ActivationQuant a) {
        ObjectNode o = JSON.createObjectNode();
        switch (a) {
            case ActivationQuant.None n -> o.put("kind", "none");
            case ActivationQuant.Dynamic d -> o.put("kind", "dynamic").set("scheme", scheme(d.scheme()));
            case ActivationQuant.StaticTable t -> {
                o.put("kind", "static").put("steps", t.steps());
                o.set("scheme", scheme(t.scheme()));
            }
        }
        return o;
    }

    static String text(JsonNode o, String key, Path file, String layer) {
        JsonNode v = o.get(key);
        if (v == null || !v.isTextual()) {
            throw new CheckpointFormatException(file, layer, "layer descriptor lacks '" + key + "'");
        }
        return v.textValue();
    }
}
