package dev.nibble.model.checkpoint;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.LinearLayer;
import java.lang.System.Logger.Level;

/** Applies a {@link NonFinitePolicy} to a layer's weight and bias before a method sees them. */
final class NonFiniteWeights {
    private static final System.Logger LOG = System.getLogger(NonFiniteWeights.class.getName());

    private NonFiniteWeights() {
    }

    /**
     * @param layer a layer about to be quantized
     * @param policy what to do with NaN or infinite values
     * @return the layer itself when every value is finite, else (CLAMP) a copy with clamped tensors
     * @throws InvalidInputException (FAIL) naming the tensor {@code <layer>.weight} or {@code <layer>.bias}
     */
    static LinearLayer apply(LinearLayer layer, NonFinitePolicy policy) {
        Tensor w = checked(layer.name() + ".weight", layer.weight(), policy);
        Tensor b = layer.bias() == null ? null : checked(layer.name() + ".bias", layer.bias(), policy);
        return w == layer.weight() && b == layer.bias() ? layer : new LinearLayer(layer.name(), layer.role(), w, b);
    }

    private static Tensor checked(String name, Tensor t, NonFinitePolicy policy) {
        float[] v = t.toFloatArray();
        int bad = 0;
        int first = -1;
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < v.length; i++) {
            if (Float.isFinite(v[i])) {
                lo = Math.min(lo, v[i]);
                hi = Math.max(hi, v[i]);
            } else if (bad++ == 0) {
                first = i;
            }
        }
        if (bad == 0) {
            return t;
        }
        String where = bad + " of " + v.length + " values of tensor '" + name + "' " + t.shape() + " are NaN or infinite (first: "
                + v[first] + " at " + index(t, first) + ")";
        if (policy == NonFinitePolicy.FAIL) {
            throw new InvalidInputException(where + "; repair the checkpoint, or quantize with the non-finite policy "
                    + "'clamp' (nibble quantize --non-finite clamp) to replace NaN by 0 and ±inf by the largest finite value");
        }
        if (lo > hi) {
            lo = 0;
            hi = 0;
        }
        for (int i = 0; i < v.length; i++) {
            if (Float.isNaN(v[i])) {
                v[i] = 0;
            } else if (v[i] == Float.POSITIVE_INFINITY) {
                v[i] = hi;
            } else if (v[i] == Float.NEGATIVE_INFINITY) {
                v[i] = lo;
            }
        }
        LOG.log(Level.WARNING, where + "; clamped: NaN -> 0, +inf -> " + hi + ", -inf -> " + lo);
        return Tensor.ofFloats(v, t.shape().dims());
    }

    private static String index(Tensor t, int flat) {
        long[] d = t.shape().dims();
        long[] at = new long[d.length];
        long r = flat;
        for (int i = d.length - 1; i >= 0; i--) {
            at[i] = d[i] == 0 ? 0 : r % d[i];
            r = d[i] == 0 ? 0 : r / d[i];
        }
        return java.util.Arrays.toString(at);
    }
}
