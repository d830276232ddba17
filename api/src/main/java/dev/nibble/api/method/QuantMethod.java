package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * A post-training quantization method. It turns full-precision linear layers into
 * {@link QuantizedLinear} plans (data); it never contains backend code.
 */
@API(status = STABLE, since = "0.1")
public interface QuantMethod {

    /** What a method needs besides the weights. */
    @API(status = STABLE, since = "0.1")
    enum Requirement {
        /** Input activations captured from the full-precision model. */
        CALIBRATION_ACTIVATIONS,
        /** Activations captured per sampling step (finite-set calibration). */
        PER_TIMESTEP_CALIBRATION
    }

    /** @return the id, e.g. {@code convrot} */
    String id();

    /** @return a one-line description with the paper */
    String description();

    /** @return the precisions it supports */
    Set<Precision> precisions();

    /**
     * @param options the configuration
     * @return what it needs for that configuration (empty: weights alone)
     */
    Set<Requirement> requirements(MethodOptions options);

    /** @return every option it accepts, with the paper's defaults */
    List<OptionSpec> options();

    /**
     * @param layer a layer
     * @param options the configuration
     * @return true if the method quantizes this layer by default (its paper's scope)
     */
    boolean quantizes(LinearLayer layer, MethodOptions options);

    /**
     * Quantizes one layer.
     *
     * @param layer the layer
     * @param calibration captured activations (may be {@link Calibration#none()} when not required)
     * @param options the configuration
     * @return the plan
     * @throws dev.nibble.api.InvalidInputException if the layer or options do not fit the method
     */
    QuantizedLinear quantize(LinearLayer layer, Calibration calibration, MethodOptions options);

    /**
     * Quantizes every layer in scope, in order, layer by layer; layers out of scope are skipped.
     * Methods that decide across layers (mixed precision) override this.
     *
     * @param layers the layers
     * @param calibration captured activations
     * @param options the configuration
     * @param progress told after each layer
     * @return the plans of the quantized layers
     */
    default List<QuantizedLinear> quantizeAll(List<LinearLayer> layers, Calibration calibration,
            MethodOptions options, ProgressListener progress) {
        options.validateFor(this);
        List<QuantizedLinear> out = new ArrayList<>();
        int i = 0;
        for (LinearLayer l : layers) {
            if (quantizes(l, options)) {
                out.add(quantize(l, calibration, options));
            }
            progress.progress(++i, layers.size(), l.name());
        }
        return out;
    }
}
