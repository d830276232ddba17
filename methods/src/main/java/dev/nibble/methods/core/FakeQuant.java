package dev.nibble.methods.core;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.numerics.Nf4;
import dev.nibble.api.numerics.Quantizer;

/**
 * Quantize-then-dequantize in float with the API's canonical numerics ({@link Quantizer#computeParams},
 * {@link Quantizer#code}): the same codes a backend produces, without packing them.
 */
public final class FakeQuant {
    private FakeQuant() {
    }

    /**
     * @param v row-major {@code [rows, k]}
     * @param rows rows
     * @param k row width
     * @param scheme the scheme (scales computed from the data)
     * @return the dequantized values
     */
    public static float[] apply(float[] v, int rows, int k, QuantScheme scheme) {
        float[] out = new float[v.length];
        float[] sc = new float[1];
        int[] ze = new int[1];
        if (scheme.granularity() == Granularity.PER_TENSOR) {
            Quantizer.computeParams(v, 0, v.length, scheme, sc, ze, 0);
            segment(v, out, 0, v.length, sc[0], ze[0], scheme);
            return out;
        }
        int g = scheme.granularity() == Granularity.PER_GROUP ? scheme.groupSize() : k;
        for (int r = 0; r < rows; r++) {
            for (int s = 0; s < k; s += g) {
                int from = r * k + s;
                int to = r * k + Math.min(k, s + g);
                Quantizer.computeParams(v, from, to, scheme, sc, ze, 0);
                segment(v, out, from, to, sc[0], ze[0], scheme);
            }
        }
        return out;
    }

    /**
     * Per-tensor quantization with a given scale and zero point.
     *
     * @param v values
     * @param scheme a per-tensor scheme
     * @param scale the scale
     * @param zero the zero point
     * @return the dequantized values
     */
    public static float[] applyStatic(float[] v, QuantScheme scheme, float scale, int zero) {
        float[] out = new float[v.length];
        segment(v, out, 0, v.length, scale, zero, scheme);
        return out;
    }

    private static void segment(float[] v, float[] out, int from, int to, float scale, int zero, QuantScheme s) {
        boolean nf4 = s.format() == QuantScheme.Format.NF4;
        for (int i = from; i < to; i++) {
            int c = Quantizer.code(v[i], scale, zero, s);
            out[i] = nf4 ? Nf4.value(c) * scale : (c - zero) * scale;
        }
    }
}
