package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.conformance.reference.RefTensor;
import java.util.Arrays;
import org.apiguardian.api.API;

/**
 * The one place the kit's tolerances are stated.
 *
 * <p>Integer results (codes, zero points, int32 accumulators) and results the spec defines as one
 * IEEE float32 operation (scales, smoothing {@code x / s}, shift {@code x + o}) must be
 * <b>bit-identical</b> to the reference.
 *
 * <p>A float result {@code y} passes when, element by element,
 * <pre>  |y - ref| ≤ SAFETY · EPS32 · errorScale + slack + ABS_FLOOR</pre>
 * where {@code ref} is the float64 reference, {@code EPS32 = 2^-23} the float32 machine epsilon,
 * {@code SAFETY = 8}, and {@code errorScale} is computed by the reference for every element from
 * the terms that form it: for a reduction of length L (GEMM: K; rotation: the block order; layer
 * norm and softmax: the row), {@code (sqrt(L) + 2 or 3) · Σ|terms|}, so the bound follows the
 * random-walk growth of float32 rounding error in any summation order and scales with the
 * magnitudes actually summed (outliers included) rather than with the result, which may cancel;
 * for element-wise ops a small multiple of {@code |x|}. {@code slack} is non-zero only in the fused
 * path (see {@link dev.nibble.conformance.reference.RefLinear}). {@code ABS_FLOOR = 1e-30} only
 * absorbs underflow. The bound is far below any quantization step, so a wrong code, a swapped
 * nibble, a missing rotation or a wrong scale fails by orders of magnitude, while a correct float32
 * kernel (FMA or not, any blocking, accurate {@code exp}/{@code tanh} within a few ulps) passes.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class Tolerance {
    /** float32 machine epsilon, 2^-23. */
    public static final double EPS32 = Math.ulp(1f);
    /** Safety factor on the error scales. */
    public static final double SAFETY = 8;
    /** Absolute floor (underflow only). */
    public static final double ABS_FLOOR = 1e-30;
    private static final int SHOW = 5;

    private Tolerance() {
    }

    /**
     * @param ref a reference element
     * @param i its index
     * @return the allowed absolute difference
     */
    public static double allowed(RefTensor ref, int i) {
        return SAFETY * EPS32 * ref.errorScale()[i] + ref.slackAt(i) + ABS_FLOOR;
    }

    /**
     * Asserts that every element is within tolerance (NaN never is).
     *
     * @param what the operation and case, for the message
     * @param actual the backend's values
     * @param ref the reference
     */
    public static void assertClose(String what, float[] actual, RefTensor ref) {
        if (actual.length != ref.size()) {
            throw new AssertionError(what + ": " + actual.length + " elements, expected " + ref.size()
                    + " (shape " + Arrays.toString(ref.shape()) + ")");
        }
        int bad = 0;
        double worst = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < actual.length; i++) {
            double diff = Math.abs(actual[i] - ref.value()[i]);
            double allowed = allowed(ref, i);
            if (!(diff <= allowed)) {
                if (bad < SHOW) {
                    sb.append(String.format("%n  [%d] got %s, expected %.9g ± %.3g", i, actual[i], ref.value()[i], allowed));
                }
                bad++;
                worst = Math.max(worst, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff / allowed);
            }
        }
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + actual.length
                    + " elements outside tolerance (worst " + String.format("%.3g", worst) + "× the bound)" + sb);
        }
    }

    /**
     * Asserts bit-identical integers.
     *
     * @param what the operation and case
     * @param actual the backend's values
     * @param expected the reference values
     */
    public static void assertExact(String what, int[] actual, int[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " elements, expected " + expected.length);
        }
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] != expected[i]) {
                if (bad < SHOW) {
                    sb.append(String.format("%n  [%d] got %d, expected %d", i, actual[i], expected[i]));
                }
                bad++;
            }
        }
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + actual.length + " elements differ (must be bit-identical)" + sb);
        }
    }

    /**
     * Asserts bit-identical float32 values (results the spec defines as single IEEE operations).
     *
     * @param what the operation and case
     * @param actual the backend's values
     * @param expected the reference values
     */
    public static void assertBitIdentical(String what, float[] actual, float[] expected) {
        int[] a = new int[actual.length];
        int[] e = new int[expected.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = Float.floatToIntBits(actual[i]);
        }
        for (int i = 0; i < e.length; i++) {
            e[i] = Float.floatToIntBits(expected[i]);
        }
        if (!Arrays.equals(a, e)) {
            int bad = 0;
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < Math.min(a.length, e.length); i++) {
                if (a[i] != e[i]) {
                    if (bad < SHOW) {
                        sb.append(String.format("%n  [%d] got %s, expected %s", i, actual[i], expected[i]));
                    }
                    bad++;
                }
            }
            throw new AssertionError(what + ": " + (a.length != e.length ? "length " + a.length + " vs " + e.length + "; " : "")
                    + bad + " float32 values differ (must be bit-identical)" + sb);
        }
    }

    /**
     * Asserts identical bytes.
     *
     * @param what the operation and case
     * @param actual the backend's bytes
     * @param expected the reference bytes
     */
    public static void assertBytes(String what, byte[] actual, byte[] expected) {
        int[] a = new int[actual.length];
        int[] e = new int[expected.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = actual[i] & 0xFF;
        }
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i] & 0xFF;
        }
        assertExact(what + " (packed bytes)", a, e);
    }
}
