package dev.nibble.cli;

import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;

/** Parses the text forms {@code nibble op} reads: rotation specs and {@link QuantScheme#describe()} strings. */
final class OpSpecs {
    private OpSpecs() {
    }

    /**
     * @param spec {@code identity}, {@code regular:N}, {@code sylvester:N} or {@code sylvester:global}
     * @return the rotation
     */
    static Rotation rotation(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (s.equals("identity")) {
                return new Rotation.Identity();
            }
            if (s.equals("sylvester:global")) {
                return Rotation.SylvesterHadamard.GLOBAL;
            }
            if (s.startsWith("regular:")) {
                return new Rotation.RegularHadamard(Integer.parseInt(s.substring(8)));
            }
            if (s.startsWith("sylvester:")) {
                int n = Integer.parseInt(s.substring(10));
                if (n == 0) {
                    throw new IllegalArgumentException("block size 0 (use sylvester:global)");
                }
                return new Rotation.SylvesterHadamard(n);
            }
        } catch (NumberFormatException e) {
            // falls through to the message below
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--rotation '" + spec + "': " + e.getMessage());
        }
        throw new InvalidInputException("--rotation '" + spec
                + "' is unknown: expected identity, regular:N (N = 4, 16, 64, 256, 1024), sylvester:N or sylvester:global");
    }

    /**
     * @param granularity {@code tensor}, {@code token}, {@code channel} or {@code group}
     * @return the granularity
     */
    static Granularity granularity(String granularity) {
        return switch (granularity.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "tensor" -> Granularity.PER_TENSOR;
            case "token" -> Granularity.PER_TOKEN;
            case "channel" -> Granularity.PER_CHANNEL;
            case "group" -> Granularity.PER_GROUP;
            default -> throw new InvalidInputException("--granularity '" + granularity
                    + "' is unknown: expected tensor, token, channel or group");
        };
    }

    /**
     * The inverse of {@link QuantScheme#describe()}, e.g. {@code int4-sym-g64-narrow-clip0.9-dyn},
     * {@code uint8-asym-token-dyn}, {@code nf4-g64-static}.
     *
     * @param text a description
     * @param where what to name in an error (file and key)
     * @return the scheme
     */
    static QuantScheme scheme(String text, String where) {
        String[] p = text.trim().split("-");
        try {
            int i = 0;
            QuantScheme.Format format;
            int bits;
            boolean signed;
            boolean symmetric;
            if (p[i].equals("nf4")) {
                format = QuantScheme.Format.NF4;
                bits = 4;
                signed = false;
                symmetric = true;
                i++;
            } else {
                format = QuantScheme.Format.INT;
                signed = p[i].startsWith("int");
                bits = Integer.parseInt(p[i].substring(signed ? 3 : 4));
                if (!signed && !p[i].startsWith("uint")) {
                    throw new IllegalArgumentException("format " + p[i]);
                }
                i++;
                symmetric = switch (p[i++]) {
                    case "sym" -> true;
                    case "asym" -> false;
                    default -> throw new IllegalArgumentException("expected sym or asym");
                };
            }
            String g = p[i++];
            Granularity gran;
            int groupSize = 0;
            if (g.startsWith("g") && g.length() > 1 && Character.isDigit(g.charAt(1))) {
                gran = Granularity.PER_GROUP;
                groupSize = Integer.parseInt(g.substring(1));
            } else {
                gran = Granularity.valueOf(g.toUpperCase(java.util.Locale.ROOT));
            }
            boolean narrow = false;
            float clip = 1f;
            if (i < p.length && p[i].equals("narrow")) {
                narrow = true;
                i++;
            }
            if (i < p.length && p[i].startsWith("clip")) {
                clip = Float.parseFloat(p[i++].substring(4));
            }
            boolean dynamic = switch (p[i++]) {
                case "dyn" -> true;
                case "static" -> false;
                default -> throw new IllegalArgumentException("expected dyn or static");
            };
            if (i != p.length) {
                throw new IllegalArgumentException("trailing '" + p[i] + "'");
            }
            return new QuantScheme(format, bits, signed, symmetric, gran, groupSize, narrow, clip, dynamic);
        } catch (RuntimeException e) {
            throw new InvalidInputException(where + ": '" + text + "' is not a quantization scheme such as int4-sym-g64-dyn ("
                    + e.getMessage() + ")");
        }
    }
}
