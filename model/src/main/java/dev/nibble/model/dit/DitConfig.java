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
        // A config comes from a file: every width the model derives from it must be a positive int, so a
        // forged one cannot wrap around or make the loader build an unbounded layer list.
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("depth " + depth + " exceeds the limit of " + MAX_DEPTH + " blocks");
        }
        long grid = inputSize / patchSize;
        fitsInt("tokens (input_size / patch_size)^2", grid * grid);
        fitsInt("patch width in_channels * patch_size^2", (long) inChannels * patchSize * patchSize);
        fitsInt("adaLN width 6 * hidden_size", 6L * hiddenSize);
        fitsInt("output width patch_size^2 * out channels", (long) patchSize * patchSize * (learnSigma ? 2L : 1L) * inChannels);
        fitsInt("label table rows num_classes + 1", numClasses + 1L);
        double mlp = Math.floor(hiddenSize * mlpRatio);
        if (!(mlp >= 1 && mlp <= Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("mlp_ratio " + mlpRatio + " gives an MLP width hidden_size * mlp_ratio of " + mlp
                    + ", not in [1, " + Integer.MAX_VALUE + "]");
        }
    }

    /** The deepest DiT accepted (DiT-XL has 28 blocks); bounds the work a forged config can cause. */
    public static final int MAX_DEPTH = 4096;

    private static void fitsInt(String what, long value) {
        if (value <= 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " = " + value + " is not a positive int");
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
                    optDouble(n, "mlp_ratio", 4.0, file), req(n, "num_classes", file),
                    optBoolean(n, "learn_sigma", file), n.has("frequency_embedding_size")
                            ? req(n, "frequency_embedding_size", file) : 256);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + ": " + e.getMessage());
        }
    }

    private static int req(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber()) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " lacks integer field '" + key + "'");
        }
        if (!v.canConvertToInt()) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " field '" + key + "' = " + v + " is out of int range");
        }
        return v.intValue();
    }

    private static double optDouble(JsonNode n, String key, double absent, Path file) {
        JsonNode v = n.get(key);
        if (v == null) {
            return absent;
        }
        if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " field '" + key + "' = " + v + " is not a finite number");
        }
        return v.doubleValue();
    }

    private static boolean optBoolean(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new CheckpointFormatException(file, null, METADATA_KEY + " field '" + key + "' = " + v + " is not true or false");
        }
        return v.booleanValue();
    }
}
