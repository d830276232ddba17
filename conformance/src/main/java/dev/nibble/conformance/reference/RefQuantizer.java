package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.numerics.Nf4;
import org.apiguardian.api.API;

/**
 * The quantizer written again from the {@link QuantScheme} javadoc, in float32 because scales and
 * codes are defined in float32 (IEEE division, round half to even). Shares no code with the API's
 * quantizer or any backend; only the NF4 code book values (data) come from {@link Nf4}.
 *
 * <p>Readings of the spec where it is silent: a zero scale gives zero point 0 (clamped into the
 * code range) and code = zero point; for NF4 a zero scale gives the code of 0.0; NF4 scales are
 * {@code absmax · clipRatio}; per-tensor granularity takes one scale over every row.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class RefQuantizer {
    private static final float[] NF4 = Nf4.values();

    private RefQuantizer() {
    }

    /**
     * @param x row-major {@code rows × k}
     * @param rows rows
     * @param k row width
     * @param s the scheme
     * @return codes and parameters computed from the data
     */
    public static RefQuantized quantize(float[] x, int rows, int k, QuantScheme s) {
        int units;
        int unitLen;
        switch (s.granularity()) {
            case PER_TENSOR -> {
                units = 1;
                unitLen = rows * k;
            }
            case PER_CHANNEL, PER_TOKEN -> {
                units = rows;
                unitLen = k;
            }
            case PER_GROUP -> {
                units = -1;
                unitLen = s.groupSize();
            }
            default -> throw new IllegalStateException();
        }
        int groups = s.granularity() == dev.nibble.api.Granularity.PER_GROUP ? (k + unitLen - 1) / unitLen : 1;
        int nParams = units > 0 ? units : rows * groups;
        float[] scales = new float[nParams];
        int[] zeros = new int[nParams];
        int[] codes = new int[rows * k];
        for (int p = 0; p < nParams; p++) {
            int[] idx = elements(p, rows, k, s, groups);
            float scale;
            int zero;
            if (s.symmetric()) {
                float absmax = 0f;
                for (int i : idx) {
                    absmax = Math.max(absmax, Math.abs(x[i]));
                }
                float clipped = absmax * s.clipRatio();
                scale = s.format() == QuantScheme.Format.NF4 ? clipped : clipped / (float) s.qmax();
                zero = 0;
            } else {
                float mn = 0f;
                float mx = 0f;
                for (int i : idx) {
                    mn = Math.min(mn, x[i]);
                    mx = Math.max(mx, x[i]);
                }
                float lo = mn * s.clipRatio();
                float hi = mx * s.clipRatio();
                scale = (hi - lo) / (float) (s.qmax() - s.qmin());
                zero = scale == 0f ? clamp(0, s) : clamp((double) s.qmin() - Math.rint(lo / scale), s);
            }
            scales[p] = scale;
            zeros[p] = zero;
            for (int i : idx) {
                codes[i] = code(x[i], scale, zero, s);
            }
        }
        return new RefQuantized(codes, scales, zeros, rows, k, s);
    }

    /**
     * Static quantization with one given scale and zero point.
     *
     * @param x row-major {@code rows × k}
     * @param rows rows
     * @param k row width
     * @param s a per-tensor scheme
     * @param scale the scale
     * @param zero the zero point
     * @return the codes
     */
    public static RefQuantized quantizeStatic(float[] x, int rows, int k, QuantScheme s, float scale, int zero) {
        int[] codes = new int[rows * k];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = code(x[i], scale, zero, s);
        }
        return new RefQuantized(codes, new float[] {scale}, new int[] {zero}, rows, k, s);
    }

    /**
     * @param x a value
     * @param scale its scale
     * @param zero its zero point
     * @param s the scheme
     * @return the code
     */
    public static int code(float x, float scale, int zero, QuantScheme s) {
        if (s.format() == QuantScheme.Format.NF4) {
            return nearestNf4(scale == 0f ? 0f : x / scale);
        }
        if (scale == 0f) {
            return zero;
        }
        float q = x / scale; // IEEE float32 division
        return clamp(Math.rint(q) + zero, s);
    }

    /**
     * @param v a normalized value
     * @return the index of the nearest NF4 value (float32 distance), the lower index on a tie
     */
    public static int nearestNf4(float v) {
        int best = -1;
        float bestD = Float.POSITIVE_INFINITY;
        for (int i = 0; i < NF4.length; i++) {
            float d = Math.abs(v - NF4[i]);
            if (d < bestD) {
                bestD = d;
                best = i;
            }
        }
        return best;
    }

    private static int clamp(double v, QuantScheme s) {
        return (int) Math.max(s.qmin(), Math.min(s.qmax(), v));
    }

    private static int[] elements(int p, int rows, int k, QuantScheme s, int groups) {
        switch (s.granularity()) {
            case PER_TENSOR -> {
                int[] a = new int[rows * k];
                for (int i = 0; i < a.length; i++) {
                    a[i] = i;
                }
                return a;
            }
            case PER_CHANNEL, PER_TOKEN -> {
                int[] a = new int[k];
                for (int i = 0; i < k; i++) {
                    a[i] = p * k + i;
                }
                return a;
            }
            default -> {
                int r = p / groups;
                int g = p % groups;
                int from = g * s.groupSize();
                int to = Math.min(k, from + s.groupSize());
                int[] a = new int[to - from];
                for (int i = 0; i < a.length; i++) {
                    a[i] = r * k + from + i;
                }
                return a;
            }
        }
    }
}
