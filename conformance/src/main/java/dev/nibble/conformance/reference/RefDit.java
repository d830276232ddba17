package dev.nibble.conformance.reference;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import org.apiguardian.api.API;

/**
 * The DiT element-wise and row operations in float64, from the {@code KernelBackend} javadoc.
 * Inputs are float32 values (exact in float64). Error scales: {@code |x|}-proportional for
 * element-wise ops, with the reduction length factor {@code sqrt(D)+2} for row ops.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class RefDit {
    private RefDit() {
    }

    /**
     * Layer norm without affine parameters, biased variance (as PyTorch).
     *
     * @param x {@code rows × d}
     * @param rows rows
     * @param d width
     * @param eps added to the variance
     * @return normalized rows; error scales {@code (sqrt(D)+2)·(|x|+|mean|+rms)/sqrt(var+eps)}
     */
    public static RefTensor layerNorm(float[] x, int rows, int d, float eps) {
        double[] y = new double[rows * d];
        double[] e = new double[rows * d];
        double f = Math.sqrt(d) + 2;
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            double sq = 0;
            for (int i = 0; i < d; i++) {
                mean += x[r * d + i];
                sq += (double) x[r * d + i] * x[r * d + i];
            }
            mean /= d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                double t = x[r * d + i] - mean;
                var += t * t;
            }
            var /= d;
            double rms = Math.sqrt(sq / d);
            double inv = 1 / Math.sqrt(var + (double) eps);
            for (int i = 0; i < d; i++) {
                y[r * d + i] = (x[r * d + i] - mean) * inv;
                e[r * d + i] = f * (Math.abs(x[r * d + i]) + Math.abs(mean) + rms) * inv;
            }
        }
        return RefTensor.of(new long[] {rows, d}, y, e);
    }

    /**
     * @param x values
     * @return GELU, tanh approximation; error scales {@code 2|x|} (1 + tanh cancels for x &lt; 0)
     */
    public static RefTensor gelu(float[] x) {
        double[] y = new double[x.length];
        double[] e = new double[x.length];
        double c = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            y[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
            e[i] = 2 * Math.abs(v);
        }
        return RefTensor.of(new long[] {x.length}, y, e);
    }

    /**
     * @param x values
     * @return {@code x·sigmoid(x)}; error scales {@code 2|x·sigmoid(x)|}
     */
    public static RefTensor silu(float[] x) {
        double[] y = new double[x.length];
        double[] e = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            y[i] = v / (1 + Math.exp(-v));
            e[i] = 2 * Math.abs(y[i]);
        }
        return RefTensor.of(new long[] {x.length}, y, e);
    }

    /**
     * @param x {@code rows × d}
     * @param rows rows
     * @param d width
     * @return row softmax; error scales {@code p·(|x| + |max| + sqrt(D) + 4)}
     */
    public static RefTensor softmax(float[] x, int rows, int d) {
        double[] y = new double[rows * d];
        double[] e = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < d; i++) {
                mx = Math.max(mx, x[r * d + i]);
            }
            double sum = 0;
            for (int i = 0; i < d; i++) {
                y[r * d + i] = Math.exp(x[r * d + i] - mx);
                sum += y[r * d + i];
            }
            for (int i = 0; i < d; i++) {
                y[r * d + i] /= sum;
                e[r * d + i] = y[r * d + i] * (Math.abs(x[r * d + i]) + Math.abs(mx) + Math.sqrt(d) + 4);
            }
        }
        return RefTensor.of(new long[] {rows, d}, y, e);
    }

    /**
     * adaLN modulation {@code x·(1 + scale[b]) + shift[b]}.
     *
     * @param x {@code [B, T, D]}
     * @param shift {@code [B, D]}
     * @param scale {@code [B, D]}
     * @param b batch
     * @param t tokens
     * @param d width
     * @return the modulated tensor; error scales {@code 2(|x|(1+|scale|) + |shift|)}
     */
    public static RefTensor modulate(float[] x, float[] shift, float[] scale, int b, int t, int d) {
        double[] y = new double[x.length];
        double[] e = new double[x.length];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int i = 0; i < d; i++) {
                    int xi = (bi * t + ti) * d + i;
                    double sc = scale[bi * d + i];
                    double sh = shift[bi * d + i];
                    y[xi] = x[xi] * (1 + sc) + sh;
                    e[xi] = 2 * (Math.abs(x[xi]) * (1 + Math.abs(sc)) + Math.abs(sh));
                }
            }
        }
        return RefTensor.of(new long[] {b, t, d}, y, e);
    }

    /**
     * adaLN-Zero gated residual {@code residual + gate[b]·y}.
     *
     * @param residual {@code [B, T, D]}
     * @param gate {@code [B, D]}
     * @param y {@code [B, T, D]}
     * @param b batch
     * @param t tokens
     * @param d width
     * @return the sum; error scales {@code 2(|residual| + |gate·y|)}
     */
    public static RefTensor gatedAdd(float[] residual, float[] gate, float[] y, int b, int t, int d) {
        double[] o = new double[residual.length];
        double[] e = new double[residual.length];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int i = 0; i < d; i++) {
                    int xi = (bi * t + ti) * d + i;
                    double gy = (double) gate[bi * d + i] * y[xi];
                    o[xi] = residual[xi] + gy;
                    e[xi] = 2 * (Math.abs(residual[xi]) + Math.abs(gy));
                }
            }
        }
        return RefTensor.of(new long[] {b, t, d}, o, e);
    }

    /**
     * Multi-head self-attention on the DiT fused projection: the last dimension of qkv is
     * {@code (3, heads, headDim)}; per batch and head {@code softmax(q·kᵀ/sqrt(hd))·v}, heads
     * concatenated.
     *
     * @param qkv {@code [B, T, 3D]}
     * @param b batch
     * @param t tokens
     * @param d model width D
     * @param heads heads
     * @return {@code [B, T, D]}; error scales
     *     {@code Σ_j p_j|v_j| · (sqrt(T) + 4 + (sqrt(hd)+2)·S)} with S the largest score magnitude
     *     {@code Σ|q·k|/sqrt(hd)} of the row plus its largest |score|
     */
    public static RefTensor attention(float[] qkv, int b, int t, int d, int heads) {
        int hd = d / heads;
        double inv = 1 / Math.sqrt(hd);
        double[] out = new double[b * t * d];
        double[] err = new double[b * t * d];
        double[] s = new double[t];
        double[] p = new double[t];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    int qo = (bi * t + i) * 3 * d + h * hd;
                    double mx = Double.NEGATIVE_INFINITY;
                    double smag = 0;
                    double sabs = 0;
                    for (int j = 0; j < t; j++) {
                        int ko = (bi * t + j) * 3 * d + d + h * hd;
                        double dot = 0;
                        double mag = 0;
                        for (int c = 0; c < hd; c++) {
                            double prod = (double) qkv[qo + c] * qkv[ko + c];
                            dot += prod;
                            mag += Math.abs(prod);
                        }
                        s[j] = dot * inv;
                        smag = Math.max(smag, mag * inv);
                        sabs = Math.max(sabs, Math.abs(s[j]));
                        mx = Math.max(mx, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        p[j] = Math.exp(s[j] - mx);
                        sum += p[j];
                    }
                    double factor = Math.sqrt(t) + 4 + (Math.sqrt(hd) + 2) * smag + sabs;
                    for (int c = 0; c < hd; c++) {
                        double o = 0;
                        double mag = 0;
                        for (int j = 0; j < t; j++) {
                            double v = qkv[(bi * t + j) * 3 * d + 2 * d + h * hd + c];
                            o += p[j] / sum * v;
                            mag += p[j] / sum * Math.abs(v);
                        }
                        int oi = (bi * t + i) * d + h * hd + c;
                        out[oi] = o;
                        err[oi] = mag * factor;
                    }
                }
            }
        }
        return RefTensor.of(new long[] {b, t, d}, out, err);
    }
}
