package dev.nibble.methods.core;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;

/**
 * Executes a {@link QuantizedLinear} on the host in float, exactly as its javadoc specifies
 * (fake quantization: codes from the canonical quantizer, dequantized at once). Methods use it to
 * measure the output error of candidate plans; it is not a backend.
 */
public final class PlanSimulator {
    private final QuantizedLinear plan;
    private final float[] weight;
    private final float[] down;
    private final float[] up;
    private final float[] smooth;
    private final float[] shift;
    private final float[] bias;

    /** @param plan the plan to execute */
    public PlanSimulator(QuantizedLinear plan) {
        this.plan = plan;
        this.weight = plan.weight() != null ? Quantizer.dequantize(plan.weight()).toFloatArray()
                : plan.denseWeight().toFloatArray();
        this.down = plan.lowRank() == null ? null : plan.lowRank().down().toFloatArray();
        this.up = plan.lowRank() == null ? null : plan.lowRank().up().toFloatArray();
        this.smooth = plan.smooth() == null ? null : plan.smooth().toFloatArray();
        this.shift = plan.shift() == null ? null : plan.shift().toFloatArray();
        this.bias = plan.bias() == null ? null : plan.bias().toFloatArray();
    }

    /** @return the plan */
    public QuantizedLinear plan() {
        return plan;
    }

    /** @return the dequantized (or dense) transformed weight {@code [N, K']}, shared: do not modify */
    public float[] effectiveWeight() {
        return weight;
    }

    /**
     * @param x input rows {@code [rows, K]}
     * @param rows number of rows
     * @param step the sampling step (used by static tables)
     * @return {@code [rows, N]}
     */
    public float[] forward(float[] x, int rows, int step) {
        float[] xt = transform(x, rows);
        int kp = plan.transformedInFeatures();
        int n = plan.outFeatures();
        float[] xq = switch (plan.activation()) {
            case ActivationQuant.None none -> xt;
            case ActivationQuant.Dynamic d -> FakeQuant.apply(xt, rows, kp, d.scheme());
            case ActivationQuant.StaticTable t -> FakeQuant.applyStatic(xt, t.scheme(), t.scale(step), t.zeroPoint(step));
        };
        float[] y = Mat.matmulNT(xq, rows, kp, weight, n);
        if (down != null) {
            int r = plan.lowRank().rank();
            float[] t = Mat.matmul(xt, rows, kp, down, r);
            float[] lr = Mat.matmulNT(t, rows, r, up, n);
            for (int i = 0; i < y.length; i++) {
                y[i] += lr[i];
            }
        }
        if (bias != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += bias[i % n];
            }
        }
        return y;
    }

    /**
     * @param x input rows {@code [rows, K]}
     * @param rows number of rows
     * @return {@code rotate(x / smooth + shift)}, {@code [rows, K']}
     */
    public float[] transform(float[] x, int rows) {
        int k = plan.inFeatures();
        float[] xs = x;
        if (smooth != null || shift != null) {
            xs = x.clone();
            for (int i = 0; i < xs.length; i++) {
                int c = i % k;
                if (smooth != null) {
                    xs[i] = xs[i] / smooth[c];
                }
                if (shift != null) {
                    xs[i] = xs[i] + shift[c];
                }
            }
        }
        return Hadamard.rotateRows(xs, rows, k, plan.rotation());
    }

    /**
     * The full-precision output of a layer.
     *
     * @param layer the layer
     * @param x input rows {@code [rows, K]}
     * @param rows number of rows
     * @return {@code x·Wᵀ + b}
     */
    public static float[] reference(LinearLayer layer, float[] x, int rows) {
        return reference(layer.weight().toFloatArray(), layer.bias() == null ? null : layer.bias().toFloatArray(),
                x, rows, layer.inFeatures(), layer.outFeatures());
    }

    /**
     * @param w {@code [n, k]}
     * @param bias {@code [n]} or null
     * @param x {@code [rows, k]}
     * @param rows rows
     * @param k width
     * @param n outputs
     * @return {@code x·wᵀ + b}
     */
    public static float[] reference(float[] w, float[] bias, float[] x, int rows, int k, int n) {
        float[] y = Mat.matmulNT(x, rows, k, w, n);
        if (bias != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += bias[i % n];
            }
        }
        return y;
    }
}
