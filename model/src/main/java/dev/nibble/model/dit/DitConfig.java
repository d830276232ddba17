package dev.nibble.model.dit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nibble.api.CheckpointFormatException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The shape of a DiT (facebookresearch/DiT names), stored as JSON in a checkpoint's metadata under
 * {@link #METADATA_KEY}.
 *
 * @param inputSize image side in pixels (or latent side)
 * @param patchSize patch side p
 * @param inChannels C
 * @param hiddenSize D
 * @param depth number of blocks
 * @param numHeads attention heads (divides D)
 * @param mlpRatio MLP hidden width / D
 * @param numClasses classes; the label table has one more row, the null class for guidance
 * @param learnSigma whether the output has 2C channels (the second half a variance, ignored here)
 * @param frequencyEmbeddingSize width of the sinusoidal timestep embedding (256)
 */
public record DitConfig(int inputSize, int patchSize, int inChannels, int hiddenSize, int depth, int numHeads,
        double mlpRatio, int numClasses, boolean learnSigma, int frequencyEmbeddingSize) {
    /** The metadata key of the JSON config. */
    public static final String METADATA_KEY = "nibble.dit.config";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** @throws IllegalArgumentException if the numbers do not make a DiT */
    public DitConfig {
        if (inputSize <= 0 || patchSize <= 0 || inputSize % patchSize != 0) {
            throw new IllegalArgumentException("input_size " + inputSize + " must be a positive multiple of patch_size " + patchSize);
        }
        if (inChannels <= 0 || hiddenSize <= 0 || depth < 0 || numHeads <= 0 || hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " must be a positive multiple of num_heads " + numHeads);
        }
        if (!(mlpRatio > 0) || numClasses <= 0 || frequencyEmbeddingSize <= 0 || frequencyEmbeddingSize % 2 != 0) {
            throw new IllegalArgumentException("mlp_ratio, num_classes and an even frequency_embedding_size must be positive");
        }
    }

    /** @return patches per side */
    public int gridSize() {
        return inputSize / patchSize;
    }

    /** @return tokens T */
    public int tokens() {
        return gridSize() * gridSize();
    }

    /** @return the MLP hidden width H */
    public int mlpHidden() {
        return (int) (hiddenSize * mlpRatio);
    }

    /** @return output channels (2C when learning sigma) */
    public int outChannels() {
        return learnSigma ? 2 * inChannels : inChannels;
    }

    /** @return C·p·p, the width of a flattened patch */
    public int patchDim() {
        return inChannels * patchSize * patchSize;
    }

    /** @return the JSON form */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("input_size", inputSize).put("patch_size", patchSize).put("in_channels", inChannels)
                .put("hidden_size", hiddenSize).put("depth", depth).put("num_heads", numHeads)
                .put("mlp_ratio", mlpRatio).put("num_classes", numClasses).put("learn_sigma", learnSigma)
                .put("frequency_embedding_size", frequencyEmbeddingSize);
        return o.toString();
    }

    /**
     * @param json the JSON form
     * @param file the file it came from (for errors)
     * @return the config
     * @throws CheckpointFormatException naming the file and the bad field
     */
    public static DitConfig fromJson(String json, Path file) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (IOException e) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " is not valid JSON");
        }
        if (n == null || !n.isObject()) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " is not a JSON object");
        }
        try {
            return new DitConfig(req(n, "input_size", file), req(n, "patch_size", file), req(n, "in_channels", file),
                    req(n, "hidden_size", file), req(n, "depth", file), req(n, "num_heads", file),
                    n.path("mlp_ratio").asDouble(4.0), req(n, "num_classes", file),
                    n.path("learn_sigma").asBoolean(false), n.path("frequency_embedding_size").asInt(256));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + ": " + e.getMessage());
        }
    }

    private static int req(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber()) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " lacks integer field '" + key + "'");
        }
        return v.intValue();
    }
}
