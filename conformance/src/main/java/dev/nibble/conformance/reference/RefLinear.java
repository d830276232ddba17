package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import org.apiguardian.api.API;

/**
 * The reference composition of a {@link QuantizedLinear} plan, step by step as its javadoc says:
 * smooth and shift in float32 (they are defined as IEEE float32 operations), rotation in float64,
 * quantization of the float32-rounded rotated activations by {@link RefQuantizer}, the GEMM, the
 * low-rank branch and the bias in float64.
 *
 * <p>A backend's rotated activations differ from the float64 ones by float32 rounding, so an
 * activation that lies within that error of a rounding boundary may legitimately get the
 * neighbouring code. Such codes are counted, not forbidden: each adds one quantization step times
 * its weight to the element's {@linkplain RefTensor#slack() slack}. The activation scale's own
 * rounding adds its relative error times the element's magnitude.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class RefLinear {
    /** Relative float32 error allowed for the rotated activations (the kit's tolerance factor times ε). */
    private static final double REL = dev.nibble.conformance.Tolerance.SAFETY * dev.nibble.conformance.Tolerance.EPS32;

    private RefLinear() {
    }

    /**
     * @param plan the plan
     * @param x input rows {@code m × K}
     * @param m rows
     * @param step the sampling step (static tables)
     * @return {@code m × N}
     */
    public static RefTensor forward(QuantizedLinear plan, float[] x, int m, int step) {
        int k = plan.inFeatures();
        int n = plan.outFeatures();
        float[] x2 = x.clone();
        if (plan.smooth() != null) {
            float[] s = plan.smooth().toFloatArray();
            for (int i = 0; i < x2.length; i++) {
                x2[i] = x2[i] / s[i % k];
            }
        }
        if (plan.shift() != null) {
            float[] s = plan.shift().toFloatArray();
            for (int i = 0; i < x2.length; i++) {
                x2[i] = x2[i] + s[i % k];
            }
        }
        RefTensor xt = RefRotation.apply(x2, m, k, plan.rotation());
        int kp = plan.transformedInFeatures();
        RefTensor y;
        if (plan.denseWeight() != null) {
            y = RefGemm.dense(xt.value(), xt.errorScale(), m, kp, RefGemm.toDouble(plan.denseWeight().toFloatArray()), n);
        } else {
            RefQuantized w = RefQuantized.of(plan.weight());
            double[] wd = new double[n * kp];
            for (int i = 0; i < wd.length; i++) {
                wd[i] = w.dequantized(i);
            }
            y = switch (plan.activation()) {
                case ActivationQuant.None none -> RefGemm.dense(xt.value(), xt.errorScale(), m, kp, wd, n);
                case ActivationQuant.Dynamic dyn -> quantizedActivations(xt, m, kp, wd, n,
                        RefQuantizer.quantize(xt.toFloats(), m, kp, dyn.scheme()), true);
                case ActivationQuant.StaticTable st -> quantizedActivations(xt, m, kp, wd, n,
                        RefQuantizer.quantizeStatic(xt.toFloats(), m, kp, st.scheme(), st.scale(step), st.zeroPoint(step)),
                        false);
            };
        }
        if (plan.lowRank() != null) {
            int r = plan.lowRank().rank();
            RefTensor lr = RefGemm.lowRank(xt.value(), xt.errorScale(), m, kp, plan.lowRank().down().toFloatArray(),
                    plan.lowRank().up().toFloatArray(), n, r);
            y = sum(y, lr);
        }
        if (plan.bias() != null) {
            y = RefGemm.add(y, plan.bias().toFloatArray());
        }
        return y;
    }

    private static RefTensor quantizedActivations(RefTensor xt, int m, int kp, double[] wd, int n, RefQuantized a,
            boolean dynamicScales) {
        QuantScheme s = a.scheme();
        double[] ad = new double[m * kp];
        for (int i = 0; i < ad.length; i++) {
            ad[i] = a.dequantized(i);
        }
        // per activation element: can float32 rounding of the rotation move it to a neighbouring code?
        double[] stepIfAmbiguous = new double[m * kp];
        double[] scaleRel = new double[m * kp];
        double[] unitRel = unitScaleError(xt, a, dynamicScales);
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < kp; c++) {
                int i = r * kp + c;
                int p = a.paramIndex(r, c);
                double scale = a.scales()[p];
                if (scale == 0) {
                    continue;
                }
                double u = xt.value()[i] / scale;
                double band = REL * xt.errorScale()[i] / scale + Math.abs(u) * unitRel[p] + 1e-6;
                double frac = Math.abs(u - Math.floor(u) - 0.5);
                double lo = s.qmin() - a.zeros()[p] - 0.5;
                double hi = s.qmax() - a.zeros()[p] + 0.5;
                boolean nearClamp = Math.abs(u - lo) <= band || Math.abs(u - hi) <= band;
                if (frac <= band || nearClamp) {
                    stepIfAmbiguous[i] = scale;
                }
                scaleRel[i] = unitRel[p];
            }
        }
        double[] y = new double[m * n];
        double[] e = new double[m * n];
        double[] slack = new double[m * n];
        double f = Math.sqrt(kp) + 3;
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                double mag = 0;
                double sl = 0;
                for (int c = 0; c < kp; c++) {
                    double w = wd[j * kp + c];
                    double t = ad[r * kp + c] * w;
                    sum += t;
                    mag += Math.abs(t);
                    sl += stepIfAmbiguous[r * kp + c] * Math.abs(w) + scaleRel[r * kp + c] * Math.abs(t);
                }
                y[r * n + j] = sum;
                e[r * n + j] = f * mag;
                slack[r * n + j] = sl;
            }
        }
        return new RefTensor(new long[] {m, n}, y, e, slack);
    }

    /** Relative error of each dynamic scale: that of the unit's extreme element, plus rounding. */
    private static double[] unitScaleError(RefTensor xt, RefQuantized a, boolean dynamicScales) {
        double[] rel = new double[a.scales().length];
        if (!dynamicScales) {
            return rel;
        }
        double[] extreme = new double[rel.length];
        double[] extremeErr = new double[rel.length];
        for (int r = 0; r < a.rows(); r++) {
            for (int c = 0; c < a.k(); c++) {
                int i = r * a.k() + c;
                int p = a.paramIndex(r, c);
                extreme[p] = Math.max(extreme[p], Math.abs(xt.value()[i]));
                extremeErr[p] = Math.max(extremeErr[p], xt.errorScale()[i]);
            }
        }
        for (int p = 0; p < rel.length; p++) {
            rel[p] = extreme[p] == 0 ? 0 : 2 * REL * extremeErr[p] / extreme[p] + 4 * dev.nibble.conformance.Tolerance.EPS32;
        }
        return rel;
    }

    private static RefTensor sum(RefTensor a, RefTensor b) {
        double[] v = new double[a.size()];
        double[] e = new double[a.size()];
        double[] s = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.value()[i] + b.value()[i];
            e[i] = a.errorScale()[i] + b.errorScale()[i] + 2 * (Math.abs(a.value()[i]) + Math.abs(b.value()[i]));
            s[i] = a.slackAt(i) + b.slackAt(i);
        }
        return new RefTensor(a.shape(), v, e, s);
    }

}
