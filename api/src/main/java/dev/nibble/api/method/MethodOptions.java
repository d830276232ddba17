package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import org.apiguardian.api.API;

/**
 * A method's configuration: the precision and named options, with typed getters that fall back to
 * the method's declared defaults.
 */
@API(status = STABLE, since = "0.1")
public final class MethodOptions {
    private final Precision precision;
    private final Map<String, String> values;

    private MethodOptions(Precision precision, Map<String, String> values) {
        this.precision = Objects.requireNonNull(precision, "precision");
        this.values = Map.copyOf(values);
    }

    /**
     * @param precision weight and activation widths
     * @param values option values by name
     * @return the options
     */
    public static MethodOptions of(Precision precision, Map<String, String> values) {
        return new MethodOptions(precision, values);
    }

    /**
     * @param precision weight and activation widths
     * @return options with every other value at its default
     */
    public static MethodOptions of(Precision precision) {
        return new MethodOptions(precision, Map.of());
    }

    /** @return the precision */
    public Precision precision() {
        return precision;
    }

    /** @return the explicitly set values */
    public Map<String, String> values() {
        return values;
    }

    /**
     * @param key option name
     * @param value its value
     * @return a copy with that option set
     */
    public MethodOptions with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(values);
        m.put(key, value);
        return new MethodOptions(precision, m);
    }

    /**
     * Checks every set option against what the method declares.
     *
     * @param method the method
     * @throws InvalidInputException naming an unknown option and listing the valid ones
     */
    public void validateFor(QuantMethod method) {
        List<OptionSpec> specs = method.options();
        for (String k : values.keySet()) {
            if (specs.stream().noneMatch(s -> s.name().equals(k))) {
                throw new InvalidInputException("method '" + method.id() + "' has no option '" + k + "'; options: "
                        + specs.stream().map(OptionSpec::name).collect(Collectors.joining(", ")));
            }
        }
        if (!method.precisions().contains(precision)) {
            throw new InvalidInputException("method '" + method.id() + "' does not support " + precision
                    + "; it supports " + method.precisions());
        }
    }

    /**
     * @param key option name
     * @param defaultValue used when the option is not set
     * @return the value as text
     */
    public String getString(String key, String defaultValue) {
        return values.getOrDefault(key, defaultValue);
    }

    /**
     * @param key option name
     * @param defaultValue used when the option is not set
     * @return the value as an int
     * @throws InvalidInputException if the value is not an integer
     */
    public int getInt(String key, int defaultValue) {
        String v = values.get(key);
        try {
            return v == null ? defaultValue : Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException("option '" + key + "' must be an integer, got '" + v + "'");
        }
    }

    /**
     * @param key option name
     * @param defaultValue used when the option is not set
     * @return the value as a double
     * @throws InvalidInputException if the value is not a number
     */
    public double getDouble(String key, double defaultValue) {
        String v = values.get(key);
        try {
            return v == null ? defaultValue : Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException("option '" + key + "' must be a number, got '" + v + "'");
        }
    }

    /**
     * @param key option name
     * @param defaultValue used when the option is not set
     * @return the value as a boolean ({@code true}/{@code false})
     * @throws InvalidInputException if the value is neither
     */
    public boolean getBoolean(String key, boolean defaultValue) {
        String v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        return switch (v.trim().toLowerCase()) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new InvalidInputException("option '" + key + "' must be true or false, got '" + v + "'");
        };
    }

    @Override
    public String toString() {
        return precision + " " + values;
    }
}
