package dev.nibble.methods.core;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What every method here shares: the {@code scope} option, option validation with typed errors
 * naming the option, and the plan assembly.
 */
public abstract class MethodBase implements QuantMethod {

    /** @return the method's own options (the {@code scope} option is added) */
    protected abstract List<OptionSpec> methodOptions();

    /** @return the paper's scope, as a {@link Scope} option value (e.g. {@code blocks}) */
    protected abstract String defaultScope();

    /**
     * Checks the values of the method's own options.
     *
     * @param options the configuration
     * @throws InvalidInputException naming a bad option
     */
    protected abstract void checkOptions(MethodOptions options);

    @Override
    public final List<OptionSpec> options() {
        List<OptionSpec> all = new ArrayList<>(methodOptions());
        all.add(new OptionSpec(Scope.OPTION, "default", "layers to quantize: 'default' (" + defaultScope()
                + ") or a comma list of blocks, temporal, adaln, embed, final, or all"));
        return List.copyOf(all);
    }

    /**
     * Validates the option names, the precision and every value.
     *
     * @param options the configuration
     * @throws InvalidInputException naming what is wrong
     */
    public final void check(MethodOptions options) {
        options.validateFor(this);
        scope(options);
        checkOptions(options);
    }

    /**
     * @param options the configuration
     * @return the parsed scope
     */
    protected final Scope scope(MethodOptions options) {
        return Scope.parse(options.getString(Scope.OPTION, "default"), defaultScope());
    }

    @Override
    public boolean quantizes(LinearLayer layer, MethodOptions options) {
        return scope(options).includes(layer.role());
    }

    /**
     * @param key option name
     * @return its declared default
     */
    protected final String defaultOf(String key) {
        return methodOptions().stream().filter(o -> o.name().equals(key)).findFirst().orElseThrow().defaultValue();
    }

    /**
     * @param options the configuration
     * @param key an int option
     * @param lo smallest valid value
     * @param hi largest valid value
     * @return the value
     * @throws InvalidInputException naming the option when out of range
     */
    protected final int intOption(MethodOptions options, String key, int lo, int hi) {
        int v = options.getInt(key, Integer.parseInt(defaultOf(key)));
        if (v < lo || v > hi) {
            throw new InvalidInputException("method '" + id() + "': option '" + key + "' must be in [" + lo + ", " + hi
                    + "], got " + v);
        }
        return v;
    }

    /**
     * @param options the configuration
     * @param key a double option
     * @param lo smallest valid value
     * @param hi largest valid value
     * @return the value
     * @throws InvalidInputException naming the option when out of range
     */
    protected final double doubleOption(MethodOptions options, String key, double lo, double hi) {
        double v = options.getDouble(key, Double.parseDouble(defaultOf(key)));
        if (!(v >= lo && v <= hi)) {
            throw new InvalidInputException("method '" + id() + "': option '" + key + "' must be in [" + lo + ", " + hi
                    + "], got " + v);
        }
        return v;
    }

    /**
     * @param options the configuration
     * @param key a boolean option
     * @return the value
     */
    protected final boolean boolOption(MethodOptions options, String key) {
        return options.getBoolean(key, Boolean.parseBoolean(defaultOf(key)));
    }

    /**
     * @param options the configuration
     * @param key a choice option
     * @param choices the valid values
     * @return the value (lower case)
     * @throws InvalidInputException naming the option and the choices
     */
    protected final String choiceOption(MethodOptions options, String key, String... choices) {
        String v = options.getString(key, defaultOf(key)).trim().toLowerCase(Locale.ROOT);
        for (String c : choices) {
            if (c.equals(v)) {
                return v;
            }
        }
        throw new InvalidInputException("method '" + id() + "': option '" + key + "' must be one of "
                + String.join(", ", choices) + ", got '" + v + "'");
    }

    /**
     * @param precision a precision
     * @param why the reason
     * @return a typed error for a precision the method does not support
     */
    protected final InvalidInputException unsupported(Precision precision, String why) {
        return new InvalidInputException("method '" + id() + "' does not support precision " + precision + ": " + why);
    }

    /**
     * Rotates the weight rows: {@code W·R}.
     *
     * @param w {@code [n, k]}
     * @param n rows
     * @param k width
     * @param rotation the rotation
     * @return {@code [n, K']}
     */
    protected static float[] rotateWeight(float[] w, int n, int k, Rotation rotation) {
        return Hadamard.rotateRows(w, n, k, rotation);
    }

    /**
     * @param w {@code [n, k]}
     * @param n rows
     * @param k width
     * @param scheme the scheme
     * @return the canonical quantized tensor
     */
    protected static QuantizedTensor quantizeWeight(float[] w, int n, int k, QuantScheme scheme) {
        return Quantizer.quantize(Tensor.ofFloats(w, n, k), scheme);
    }

    /**
     * @param precision the precision
     * @param scheme the activation scheme at its bit width (ignored when activations stay FP)
     * @return dynamic quantization, or none for W4A16
     */
    protected static ActivationQuant dynamicOrNone(Precision precision, QuantScheme scheme) {
        return precision.quantizesActivations() ? new ActivationQuant.Dynamic(scheme) : new ActivationQuant.None();
    }

    /**
     * @param layer the layer
     * @param options the configuration
     * @return a builder with the layer's name, shape, bias and the method's metadata
     */
    protected final QuantizedLinear.Builder planFor(LinearLayer layer, MethodOptions options) {
        QuantizedLinear.Builder b = QuantizedLinear.builder(layer.name(), layer.inFeatures(), layer.outFeatures())
                .bias(layer.bias())
                .meta("method", id())
                .meta("precision", options.precision().name());
        options.values().forEach((k, v) -> b.meta("option." + k, v));
        return b;
    }
}
