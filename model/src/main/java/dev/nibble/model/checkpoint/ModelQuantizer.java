package dev.nibble.model.checkpoint;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitLayers;
import dev.nibble.model.dit.DitModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantizes a DiT with a method. {@link #quantizeToFile} streams: the full-precision weights are
 * views of the input's memory map and each layer's plan is written to the output as soon as it is
 * made, so peak memory is a small multiple of the largest layer, whenever the method decides layer
 * by layer (it does not override {@link QuantMethod#quantizeAll}). A method that decides across
 * layers (mixed precision) gets every layer at once and its plans are written when it returns.
 *
 * <p>Weights and biases a method is given are checked for NaN and infinities first
 * ({@link NonFinitePolicy}: fail naming the tensor by default, or warn and clamp).
 */
public final class ModelQuantizer {
    private ModelQuantizer() {
    }

    /**
     * @param method a method
     * @return true if it uses the default layer-by-layer {@code quantizeAll}
     */
    public static boolean decidesLayerByLayer(QuantMethod method) {
        try {
            return method.getClass().getMethod("quantizeAll", List.class, Calibration.class, MethodOptions.class,
                    ProgressListener.class).getDeclaringClass() == QuantMethod.class;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /**
     * Checks, before any costly calibration, that the layers the method will quantize hold only
     * finite weights and biases.
     *
     * @param model the full-precision model
     * @param method the method
     * @param options its options
     * @throws dev.nibble.api.InvalidInputException naming the first tensor with NaN or an infinity
     */
    public static void requireFinite(DitModel model, QuantMethod method, MethodOptions options) {
        for (LinearLayer l : model.linearLayers()) {
            if (method.quantizes(l, options)) {
                NonFiniteWeights.apply(l, NonFinitePolicy.FAIL);
            }
        }
    }

    /** The layers with the policy applied to those the method quantizes; the others pass unchanged. */
    private static List<LinearLayer> checked(List<LinearLayer> layers, QuantMethod method, MethodOptions options,
            NonFinitePolicy nonFinite) {
        return layers.stream().map(l -> method.quantizes(l, options) ? NonFiniteWeights.apply(l, nonFinite) : l).toList();
    }

    /**
     * Quantizes in memory.
     *
     * @param model the full-precision model
     * @param method the method
     * @param options its options
     * @param calibration captured activations (or none)
     * @param progress told after each layer
     * @return a model with the method's plans in place of the layers it quantizes
     */
    public static DitModel quantize(DitModel model, QuantMethod method, MethodOptions options, Calibration calibration,
            ProgressListener progress) {
        return quantize(model, method, options, calibration, progress, NonFinitePolicy.FAIL);
    }

    /**
     * Quantizes in memory.
     *
     * @param model the full-precision model
     * @param method the method
     * @param options its options
     * @param calibration captured activations (or none)
     * @param progress told after each layer
     * @param nonFinite what to do with NaN or infinite weights and biases of the layers the method quantizes
     * @return a model with the method's plans in place of the layers it quantizes
     * @throws dev.nibble.api.InvalidInputException naming the tensor, under {@link NonFinitePolicy#FAIL}
     */
    public static DitModel quantize(DitModel model, QuantMethod method, MethodOptions options, Calibration calibration,
            ProgressListener progress, NonFinitePolicy nonFinite) {
        List<QuantizedLinear> plans = method.quantizeAll(checked(model.linearLayers(), method, options, nonFinite), calibration,
                options, progress);
        Map<String, QuantizedLinear> m = new LinkedHashMap<>();
        for (QuantizedLinear p : plans) {
            m.put(p.name(), p);
        }
        return model.withPlans(m);
    }

    /**
     * Quantizes into a checkpoint file, streaming layer by layer where the method allows.
     *
     * @param model the full-precision model
     * @param method the method
     * @param options its options
     * @param calibration captured activations (or none)
     * @param target the output file (written atomically)
     * @param progress told after each layer
     * @return the file
     */
    public static Path quantizeToFile(DitModel model, QuantMethod method, MethodOptions options, Calibration calibration,
            Path target, ProgressListener progress) {
        return quantizeToFile(model, method, options, calibration, target, progress, NonFinitePolicy.FAIL);
    }

    /**
     * Quantizes into a checkpoint file, streaming layer by layer where the method allows.
     *
     * @param model the full-precision model
     * @param method the method
     * @param options its options
     * @param calibration captured activations (or none)
     * @param target the output file (written atomically; nothing is left under its name on failure)
     * @param progress told after each layer
     * @param nonFinite what to do with NaN or infinite weights and biases of the layers the method quantizes
     * @return the file
     * @throws dev.nibble.api.InvalidInputException naming the tensor, under {@link NonFinitePolicy#FAIL}
     */
    public static Path quantizeToFile(DitModel model, QuantMethod method, MethodOptions options, Calibration calibration,
            Path target, ProgressListener progress, NonFinitePolicy nonFinite) {
        options.validateFor(method);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(DitConfig.METADATA_KEY, model.config().toJson());
        meta.put(QuantizedCheckpoint.METHOD_KEY, method.id());
        meta.put(QuantizedCheckpoint.PRECISION_KEY, options.precision().name().toLowerCase());
        com.fasterxml.jackson.databind.node.ObjectNode o = PlanCodec.JSON.createObjectNode();
        options.values().forEach(o::put);
        meta.put(QuantizedCheckpoint.OPTIONS_KEY, o.toString());
        try (QuantizedCheckpoint.Writer w = QuantizedCheckpoint.writer(target, meta)) {
            w.addTensor(DitLayers.LABEL_TABLE, model.labelTable());
            w.addTensor(DitLayers.POS_EMBED, model.posEmbed());
            List<LinearLayer> layers = model.linearLayers();
            if (decidesLayerByLayer(method)) {
                int i = 0;
                for (LinearLayer l : layers) {
                    QuantizedLinear p = method.quantizes(l, options)
                            ? method.quantize(NonFiniteWeights.apply(l, nonFinite), calibration, options)
                            : model.plans().get(l.name());
                    w.addLayer(p);
                    progress.progress(++i, layers.size(), l.name());
                }
            } else {
                Map<String, QuantizedLinear> made = new LinkedHashMap<>();
                for (QuantizedLinear p : method.quantizeAll(checked(layers, method, options, nonFinite), calibration, options,
                        progress)) {
                    made.put(p.name(), p);
                }
                for (LinearLayer l : layers) {
                    w.addLayer(made.getOrDefault(l.name(), model.plans().get(l.name())));
                }
            }
            return w.commit();
        }
    }
}
