package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/** The role of a linear layer in a DiT; methods choose their default scope by role. */
@API(status = STABLE, since = "0.1")
public enum LayerRole {
    /** Fused query/key/value projection of attention. */
    ATTENTION_QKV,
    /** Attention output projection. */
    ATTENTION_PROJ,
    /** First MLP layer. */
    MLP_FC1,
    /** Second MLP layer (input after GELU). */
    MLP_FC2,
    /** adaLN modulation linear of a block (temporal information block). */
    ADALN_MODULATION,
    /** Timestep-embedding MLP (temporal information block). */
    TIMESTEP_MLP,
    /** Patch embedding. */
    PATCH_EMBED,
    /** Final layer (its adaLN and linear). */
    FINAL,
    /** Anything else. */
    OTHER;

    /** @return true for the four linear layers inside a block's attention and MLP */
    public boolean isBlockLinear() {
        return this == ATTENTION_QKV || this == ATTENTION_PROJ || this == MLP_FC1 || this == MLP_FC2;
    }

    /** @return true for the temporal information block (timestep MLP and adaLN modulation) */
    public boolean isTemporal() {
        return this == TIMESTEP_MLP || this == ADALN_MODULATION;
    }
}
