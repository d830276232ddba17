package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.util.Arrays;
import org.apiguardian.api.API;

/**
 * A float64 reference result with, per element, the scale of the float32 rounding error a correct
 * backend may make ({@code errorScale}) and an absolute allowance for legitimately ambiguous
 * quantization codes ({@code slack}, only in fused-path references). The comparison rule lives in
 * {@link dev.nibble.conformance.Tolerance}.
 *
 * @param shape the logical shape
 * @param value the exact (float64) values, row-major
 * @param errorScale per element: the magnitude the float32 rounding error is proportional to
 *     (the sum of absolute values of the terms that form the element, times the length factor of
 *     the reduction); see {@link dev.nibble.conformance.Tolerance}
 * @param slack per element: an absolute allowance, or null for none
 */
@API(status = EXPERIMENTAL, since = "0.1")
public record RefTensor(long[] shape, double[] value, double[] errorScale, double[] slack) {
    /** Checks the lengths. */
    public RefTensor {
        shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (value.length != n || errorScale.length != n || (slack != null && slack.length != n)) {
            throw new IllegalArgumentException("reference arrays do not match shape " + Arrays.toString(shape));
        }
    }

    /**
     * @param shape the shape
     * @param value values
     * @param errorScale error scales
     * @return a result without slack
     */
    public static RefTensor of(long[] shape, double[] value, double[] errorScale) {
        return new RefTensor(shape, value, errorScale, null);
    }

    /** @return the number of elements */
    public int size() {
        return value.length;
    }

    /**
     * @param i an element index
     * @return the slack of element i (0 if none)
     */
    public double slackAt(int i) {
        return slack == null ? 0 : slack[i];
    }

    /** @return the values rounded to float32 (to feed later stages) */
    public float[] toFloats() {
        float[] f = new float[value.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) value[i];
        }
        return f;
    }
}
