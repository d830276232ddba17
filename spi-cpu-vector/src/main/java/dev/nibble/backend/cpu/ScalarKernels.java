package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Nf4;
import dev.nibble.api.numerics.Quantizer;

/**
 * The kernels as plain Java loops: the path taken without the Vector API, and the base the
 * vectorized kernels override operation by operation. Quantization and rotation call the API's
 * canonical numerics ({@link Quantizer}, {@link Hadamard}) so the codes are bit-identical by
 * construction. Work is split over rows with the backend's {@link WorkerPool}.
 */
class ScalarKernels {
    final WorkerPool pool;

    ScalarKernels(WorkerPool pool) {
        this.pool = pool;
    }

    /** @return "scalar" or "vector" */
    String path() {
        return "scalar";
    }

    // ---- input transforms ----

    float[] rotate(float[] x, int rows, int k, Rotation rotation) {
        int kp = rotation.outputDim(k);
        float[] out = new float[rows * kp];
        // Hadamard.rotateRows is row-independent: run it on row slices in parallel
        int chunk = Math.max(1, 4096 / Math.max(1, kp));
        int tasks = (rows + chunk - 1) / chunk;
        pool.forEach(tasks, t -> {
            int r0 = t * chunk;
            int r1 = Math.min(rows, r0 + chunk);
            float[] part = new float[(r1 - r0) * k];
            System.arraycopy(x, r0 * k, part, 0, part.length);
            float[] y = Hadamard.rotateRows(part, r1 - r0, k, rotation);
            System.arraycopy(y, 0, out, r0 * kp, y.length);
        });
        return out;
    }

    float[] smooth(float[] x, int rows, int k, float[] divisor) {
        float[] y = new float[x.length];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                y[r * k + j] = x[r * k + j] / divisor[j];
            }
        }
        return y;
    }

    float[] addRow(float[] x, int rows, int k, float[] offset) {
        float[] y = new float[x.length];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                y[r * k + j] = x[r * k + j] + offset[j];
            }
        }
        return y;
    }

    float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    // ---- BF16 activations: exact widening in, round to nearest even out (integer bit operations) ----

    float[] widenBf16(short[] x) {
        float[] f = new float[x.length];
        Bf16.widen(x, 0, f, 0, x.length);
        return f;
    }

    short[] roundBf16(float[] y) {
        short[] s = new short[y.length];
        Bf16.round(y, 0, s, 0, y.length);
        return s;
    }

    // ---- quantization ----

    Quantized quantize(float[] x, int rows, int k, QuantScheme s) {
        boolean perTensor = s.granularity() == Granularity.PER_TENSOR;
        int spr = perTensor ? 1 : s.scalesPerRow(k);
        int g = s.granularity() == Granularity.PER_GROUP ? s.groupSize() : k;
        float[] scales = new float[perTensor ? 1 : rows * spr];
        int[] zeros = new int[scales.length];
        byte[] codes = new byte[rows * k];
        if (perTensor) {
            params(x, 0, x.length, s, scales, zeros, 0);
        }
        pool.forEach(rows, r -> {
            for (int gi = 0; gi < spr; gi++) {
                int from = r * k + (perTensor ? 0 : gi * g);
                int to = perTensor ? r * k + k : r * k + Math.min(k, (gi + 1) * g);
                int si = perTensor ? 0 : r * spr + gi;
                if (!perTensor) {
                    params(x, from, to, s, scales, zeros, si);
                }
                encode(x, from, to, scales[si], zeros[si], s, codes);
            }
        });
        return new Quantized(codes, scales, s.symmetric() ? null : zeros, s, rows, k);
    }

    Quantized quantizeStatic(float[] x, int rows, int k, QuantScheme s, float scale, int zero) {
        byte[] codes = new byte[rows * k];
        pool.forEach(rows, r -> encode(x, r * k, r * k + k, scale, zero, s, codes));
        return new Quantized(codes, new float[] {scale}, s.symmetric() ? null : new int[] {zero}, s, rows, k);
    }

    /** Scale and zero point of {@code x[from, to)} into {@code scales[at]}, {@code zeros[at]}. */
    void params(float[] x, int from, int to, QuantScheme s, float[] scales, int[] zeros, int at) {
        Quantizer.computeParams(x, from, to, s, scales, zeros, at);
    }

    /** Codes of {@code x[from, to)} with one scale and zero point. */
    void encode(float[] x, int from, int to, float scale, int zero, QuantScheme s, byte[] codes) {
        for (int i = from; i < to; i++) {
            codes[i] = (byte) Quantizer.code(x[i], scale, zero, s);
        }
    }

    float[] dequantize(Quantized q) {
        float[] out = new float[q.rows() * q.k()];
        boolean nf4 = q.scheme().format() == QuantScheme.Format.NF4;
        int g = q.groupSize();
        int k = q.k();
        pool.forEach(q.rows(), r -> {
            for (int c = 0; c < k; c++) {
                int pi = q.paramIndex(r, c / g);
                int code = q.code(r * k + c);
                out[r * k + c] = nf4 ? Nf4.value(code) * q.scales()[pi]
                        : (code - (q.zeros() == null ? 0 : q.zeros()[pi])) * q.scales()[pi];
            }
        });
        return out;
    }

    // ---- GEMMs ----

    /**
     * Exact integer GEMM: {@code acc[grp, m, n] = Σ_{k in grp} (a - za)(w - zw)} in int32.
     *
     * @param a activation codes [M, K]
     * @param w weight codes [N, K]
     * @param g the group length of the output (K for one group)
     * @return int32 [G, M, N], G = ceil(K / g)
     */
    int[] accumulate(Quantized a, Quantized w, int g) {
        int m = a.rows();
        int n = w.rows();
        int k = a.k();
        int groups = Math.max(1, (k + g - 1) / g);
        int[] ca = centered(a);
        int[] cw = centered(w);
        int[] acc = new int[groups * m * n];
        pool.forEach(m, i -> {
            for (int j = 0; j < n; j++) {
                for (int gi = 0; gi < groups; gi++) {
                    int s = 0;
                    int end = Math.min(k, (gi + 1) * g);
                    for (int t = gi * g; t < end; t++) {
                        s += ca[i * k + t] * cw[j * k + t];
                    }
                    acc[(gi * m + i) * n + j] = s;
                }
            }
        });
        return acc;
    }

    /** @return {@code code - zero} of every element */
    static int[] centered(Quantized q) {
        int k = q.k();
        int g = q.groupSize();
        int[] c = new int[q.rows() * k];
        for (int r = 0; r < q.rows(); r++) {
            for (int t = 0; t < k; t++) {
                c[r * k + t] = q.code(r * k + t) - q.zero(r, t / g);
            }
        }
        return c;
    }

    /**
     * Quantized GEMM with dequantization, per group {@code y = Σ_g ((float) acc_g · sa) · sw},
     * groups ascending.
     */
    float[] gemmQuantized(Quantized a, Quantized w, int g) {
        int[] acc = accumulate(a, w, g);
        return dequantizeAccumulators(acc, a, w, g);
    }

    static float[] dequantizeAccumulators(int[] acc, Quantized a, Quantized w, int g) {
        int m = a.rows();
        int n = w.rows();
        int groups = Math.max(1, (a.k() + g - 1) / g);
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int gi = 0; gi < groups; gi++) {
                    s += ((float) acc[(gi * m + i) * n + j] * a.scale(i, gi)) * w.scale(j, gi);
                }
                y[i * n + j] = s;
            }
        }
        return y;
    }

    /** @return the weight in the form {@link #gemmQuantizedPrepared} reads (here: as is) */
    Object prepareIntWeight(Quantized w) {
        return w;
    }

    /** @return the weight in the form {@link #gemmWeightOnlyPrepared} reads (here: as is) */
    Object prepareWeightOnly(Quantized w) {
        return w;
    }

    /** @return bytes held by a prepared weight */
    long preparedBytes(Object prepared) {
        return ((Quantized) prepared).byteSize();
    }

    /** @return a dense F32 weight [n, k] in the form {@link #gemmDensePrepared} reads (here: as is) */
    Object prepareDense(float[] w, int n, int k) {
        return w;
    }

    float[] gemmDensePrepared(float[] x, int m, int k, Object w, int n) {
        return gemm(x, m, k, (float[]) w, n);
    }

    float[] gemmQuantizedPrepared(Quantized a, Object w) {
        Quantized qw = (Quantized) w;
        return gemmQuantized(a, qw, CpuKernelBackend.outputGroup(a, qw));
    }

    float[] gemmWeightOnlyPrepared(float[] x, int m, Object w) {
        return gemmWeightOnly(x, m, (Quantized) w);
    }

    /** Float activations times dequantized weights: {@code x · dequant(w)ᵀ}. */
    float[] gemmWeightOnly(float[] x, int m, Quantized w) {
        return gemm(x, m, w.k(), dequantize(w), w.rows());
    }

    /** {@code y [m, n] = x [m, k] · w [n, k]ᵀ}, float32 sums over k ascending. */
    float[] gemm(float[] x, int m, int k, float[] w, int n) {
        float[] y = new float[m * n];
        pool.forEach(m, i -> {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int t = 0; t < k; t++) {
                    s += x[i * k + t] * w[j * k + t];
                }
                y[i * n + j] = s;
            }
        });
        return y;
    }

    // ---- DiT operations ----

    float[] layerNorm(float[] x, int rows, int d, float eps) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * d;
            double sum = 0;
            for (int i = 0; i < d; i++) {
                sum += x[o + i];
            }
            float mean = (float) (sum / d);
            double var = 0;
            for (int i = 0; i < d; i++) {
                float c = x[o + i] - mean;
                var += c * c;
            }
            float inv = (float) (1.0 / Math.sqrt(var / d + eps));
            for (int i = 0; i < d; i++) {
                y[o + i] = (x[o + i] - mean) * inv;
            }
        });
        return y;
    }

    float[] gelu(float[] x) {
        float[] y = new float[x.length];
        float c = (float) Math.sqrt(2.0 / Math.PI);
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1f + (float) Math.tanh(c * (v + 0.044715f * v * v * v)));
        }
        return y;
    }

    float[] silu(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            y[i] = v / (1f + (float) Math.exp(-v));
        }
        return y;
    }

    float[] softmax(float[] x, int rows, int d) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> softmaxRow(x, r * d, d, y, r * d));
        return y;
    }

    static void softmaxRow(float[] x, int off, int d, float[] y, int yo) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < d; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < d; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            y[yo + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < d; i++) {
            y[yo + i] *= inv;
        }
    }

    float[] modulate(float[] x, int b, int t, int d, float[] shift, float[] scale) {
        float[] y = new float[x.length];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int o = (bi * t + ti) * d;
                for (int i = 0; i < d; i++) {
                    y[o + i] = x[o + i] * (1f + scale[bi * d + i]) + shift[bi * d + i];
                }
            }
        }
        return y;
    }

    float[] gatedAdd(float[] res, int b, int t, int d, float[] gate, float[] y) {
        float[] out = new float[res.length];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                int o = (bi * t + ti) * d;
                for (int i = 0; i < d; i++) {
                    out[o + i] = res[o + i] + gate[bi * d + i] * y[o + i];
                }
            }
        }
        return out;
    }

    /** Self-attention on fused qkv {@code [B, T, 3, H, hd]}: per (batch, head) one task. */
    float[] attention(float[] qkv, int b, int t, int d, int heads) {
        int hd = d / heads;
        float[] out = new float[b * t * d];
        float scale = (float) (1.0 / Math.sqrt(hd));
        pool.forEach(b * heads, task -> {
            int bi = task / heads;
            int h = task % heads;
            float[] scores = new float[t];
            float[] probs = new float[t];
            for (int i = 0; i < t; i++) {
                int qo = (bi * t + i) * 3 * d + h * hd;
                for (int j = 0; j < t; j++) {
                    int ko = (bi * t + j) * 3 * d + d + h * hd;
                    float s = 0f;
                    for (int e = 0; e < hd; e++) {
                        s += qkv[qo + e] * qkv[ko + e];
                    }
                    scores[j] = s * scale;
                }
                softmaxRow(scores, 0, t, probs, 0);
                int oo = (bi * t + i) * d + h * hd;
                for (int j = 0; j < t; j++) {
                    int vo = (bi * t + j) * 3 * d + 2 * d + h * hd;
                    float p = probs[j];
                    for (int e = 0; e < hd; e++) {
                        out[oo + e] += p * qkv[vo + e];
                    }
                }
            }
        });
        return out;
    }
}
