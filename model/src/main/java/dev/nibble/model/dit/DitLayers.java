package dev.nibble.model.dit;

import dev.nibble.api.method.LayerRole;
import java.util.ArrayList;
import java.util.List;

/** The linear layers of a DiT, by facebookresearch/DiT name, in forward order, with their roles and shapes. */
public final class DitLayers {
    private DitLayers() {
    }

    /**
     * One linear layer's place in the model.
     *
     * @param name the tensor prefix ({@code <name>.weight}, {@code <name>.bias})
     * @param role its role
     * @param in K
     * @param out N
     */
    public record Spec(String name, LayerRole role, int in, int out) {
    }

    /** Patch embedding (a stride-p convolution, run as a linear on flattened patches). */
    public static final String PATCH = "x_embedder.proj";
    /** First layer of the timestep MLP. */
    public static final String T_MLP0 = "t_embedder.mlp.0";
    /** Second layer of the timestep MLP. */
    public static final String T_MLP2 = "t_embedder.mlp.2";
    /** The final layer's adaLN linear. */
    public static final String FINAL_ADALN = "final_layer.adaLN_modulation.1";
    /** The final projection to patches. */
    public static final String FINAL_LINEAR = "final_layer.linear";
    /** The label table tensor. */
    public static final String LABEL_TABLE = "y_embedder.embedding_table.weight";
    /** The stored positional embedding. */
    public static final String POS_EMBED = "pos_embed";

    /**
     * @param block block index
     * @param part {@code adaLN_modulation.1}, {@code attn.qkv}, {@code attn.proj}, {@code mlp.fc1} or {@code mlp.fc2}
     * @return the layer name
     */
    public static String block(int block, String part) {
        return "blocks." + block + "." + part;
    }

    /**
     * @param c the config
     * @return every linear layer in forward order
     */
    public static List<Spec> all(DitConfig c) {
        int d = c.hiddenSize();
        List<Spec> out = new ArrayList<>();
        out.add(new Spec(PATCH, LayerRole.PATCH_EMBED, c.patchDim(), d));
        out.add(new Spec(T_MLP0, LayerRole.TIMESTEP_MLP, c.frequencyEmbeddingSize(), d));
        out.add(new Spec(T_MLP2, LayerRole.TIMESTEP_MLP, d, d));
        for (int i = 0; i < c.depth(); i++) {
            out.add(new Spec(block(i, "adaLN_modulation.1"), LayerRole.ADALN_MODULATION, d, 6 * d));
            out.add(new Spec(block(i, "attn.qkv"), LayerRole.ATTENTION_QKV, d, 3 * d));
            out.add(new Spec(block(i, "attn.proj"), LayerRole.ATTENTION_PROJ, d, d));
            out.add(new Spec(block(i, "mlp.fc1"), LayerRole.MLP_FC1, d, c.mlpHidden()));
            out.add(new Spec(block(i, "mlp.fc2"), LayerRole.MLP_FC2, c.mlpHidden(), d));
        }
        out.add(new Spec(FINAL_ADALN, LayerRole.FINAL, d, 2 * d));
        out.add(new Spec(FINAL_LINEAR, LayerRole.FINAL, d, c.patchSize() * c.patchSize() * c.outChannels()));
        return out;
    }
}
