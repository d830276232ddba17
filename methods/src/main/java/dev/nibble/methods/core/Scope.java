package dev.nibble.methods.core;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.method.LayerRole;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Which layers a method quantizes, from the {@code scope} option: a comma list of
 * {@code blocks} (qkv, proj, fc1, fc2), {@code temporal} (timestep MLP, adaLN modulation),
 * {@code adaln}, {@code embed} (patch embedding and other layers), {@code final}, or {@code all};
 * {@code default} is the method's paper scope.
 *
 * @param roles the roles in scope
 */
public record Scope(Set<LayerRole> roles) {
    /** The option's name. */
    public static final String OPTION = "scope";

    /**
     * @param value the option value
     * @param defaultValue the method's default scope (never {@code default} itself)
     * @return the scope
     * @throws InvalidInputException naming the option for an unknown part
     */
    public static Scope parse(String value, String defaultValue) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("default")) {
            v = defaultValue;
        }
        EnumSet<LayerRole> roles = EnumSet.noneOf(LayerRole.class);
        for (String part : v.split(",")) {
            switch (part.trim()) {
                case "blocks" -> roles.addAll(EnumSet.of(LayerRole.ATTENTION_QKV, LayerRole.ATTENTION_PROJ,
                        LayerRole.MLP_FC1, LayerRole.MLP_FC2));
                case "temporal" -> roles.addAll(EnumSet.of(LayerRole.TIMESTEP_MLP, LayerRole.ADALN_MODULATION));
                case "adaln" -> roles.add(LayerRole.ADALN_MODULATION);
                case "embed" -> roles.addAll(EnumSet.of(LayerRole.PATCH_EMBED, LayerRole.OTHER));
                case "final" -> roles.add(LayerRole.FINAL);
                case "all" -> roles.addAll(EnumSet.allOf(LayerRole.class));
                default -> throw new InvalidInputException("option '" + OPTION + "': unknown part '" + part.trim()
                        + "'; use a comma list of blocks, temporal, adaln, embed, final, or all / default");
            }
        }
        return new Scope(Set.copyOf(roles));
    }

    /**
     * @param role a layer role
     * @return true if in scope
     */
    public boolean includes(LayerRole role) {
        return roles.contains(role);
    }
}
