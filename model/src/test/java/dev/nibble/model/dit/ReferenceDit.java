package dev.nibble.model.dit;

import dev.nibble.model.safetensors.SafetensorsFile;

/**
 * A straightforward float64 DiT forward written directly from the facebookresearch/DiT definition
 * (conv patch embedding, adaLN-Zero blocks, final layer, unpatchify), sharing no code with
 * {@link DitRunner}. Used as the oracle in tests.
 */
final class ReferenceDit {
    private final SafetensorsFile f;
    private final DitConfig c;

    ReferenceDit(SafetensorsFile f) {
        this.f = f;
        this.c = DitModel.config(f);
    }

    private double[] w(String name) {
        float[] v = f.tensor(name).to(dev.nibble.api.DType.F32).toFloatArray();
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** y[n] = W x + b for each of rows vectors. */
    private double[][] linear(String layer, double[][] x) {
        double[] wt = w(layer + ".weight");
        double[] b = w(layer + ".bias");
        int out = b.length;
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += wt[o * in + i] * x[r][i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    private static double[] layerNorm(double[] v) {
        double mean = 0;
        for (double z : v) {
            mean += z;
        }
        mean /= v.length;
        double var = 0;
        for (double z : v) {
            var += (z - mean) * (z - mean);
        }
        var /= v.length;
        double[] o = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = (v[i] - mean) / Math.sqrt(var + 1e-6);
        }
        return o;
    }

    /** One image: x [C][H][W], timestep, label → output [Cout][H][W]. */
    double[][][] forward(double[][][] img, long t, long y) {
        int d = c.hiddenSize();
        int p = c.patchSize();
        int g = c.gridSize();
        int tokens = c.tokens();
        // patch embedding: conv with kernel = stride = p
        double[] pw = w("x_embedder.proj.weight");
        double[] pb = w("x_embedder.proj.bias");
        double[] pos = w("pos_embed");
        double[][] x = new double[tokens][d];
        for (int gy = 0; gy < g; gy++) {
            for (int gx = 0; gx < g; gx++) {
                for (int o = 0; o < d; o++) {
                    double s = pb[o];
                    for (int ch = 0; ch < c.inChannels(); ch++) {
                        for (int i = 0; i < p; i++) {
                            for (int j = 0; j < p; j++) {
                                s += pw[((o * c.inChannels() + ch) * p + i) * p + j] * img[ch][gy * p + i][gx * p + j];
                            }
                        }
                    }
                    x[gy * g + gx][o] = s + pos[(gy * g + gx) * d + o];
                }
            }
        }
        // timestep embedding
        int half = c.frequencyEmbeddingSize() / 2;
        double[] te = new double[2 * half];
        for (int i = 0; i < half; i++) {
            double a = t * Math.exp(-Math.log(10000) * i / half);
            te[i] = Math.cos(a);
            te[half + i] = Math.sin(a);
        }
        double[] h1 = linear("t_embedder.mlp.0", new double[][] {te})[0];
        for (int i = 0; i < h1.length; i++) {
            h1[i] = silu(h1[i]);
        }
        double[] temb = linear("t_embedder.mlp.2", new double[][] {h1})[0];
        double[] table = w("y_embedder.embedding_table.weight");
        double[] cond = new double[d];
        for (int i = 0; i < d; i++) {
            cond[i] = silu(temb[i] + table[(int) y * d + i]);
        }
        for (int b = 0; b < c.depth(); b++) {
            double[] mod = linear("blocks." + b + ".adaLN_modulation.1", new double[][] {cond})[0];
            double[][] a = new double[tokens][];
            for (int tk = 0; tk < tokens; tk++) {
                a[tk] = modulate(layerNorm(x[tk]), mod, 0, 1, d);
            }
            double[][] att = attention(linear("blocks." + b + ".attn.qkv", a));
            double[][] pr = linear("blocks." + b + ".attn.proj", att);
            for (int tk = 0; tk < tokens; tk++) {
                for (int i = 0; i < d; i++) {
                    x[tk][i] += mod[2 * d + i] * pr[tk][i];
                }
            }
            double[][] m = new double[tokens][];
            for (int tk = 0; tk < tokens; tk++) {
                m[tk] = modulate(layerNorm(x[tk]), mod, 3, 4, d);
            }
            double[][] f1 = linear("blocks." + b + ".mlp.fc1", m);
            for (double[] row : f1) {
                for (int i = 0; i < row.length; i++) {
                    double z = row[i];
                    row[i] = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                }
            }
            double[][] f2 = linear("blocks." + b + ".mlp.fc2", f1);
            for (int tk = 0; tk < tokens; tk++) {
                for (int i = 0; i < d; i++) {
                    x[tk][i] += mod[5 * d + i] * f2[tk][i];
                }
            }
        }
        double[] fm = linear("final_layer.adaLN_modulation.1", new double[][] {cond})[0];
        double[][] fx = new double[tokens][];
        for (int tk = 0; tk < tokens; tk++) {
            fx[tk] = modulate(layerNorm(x[tk]), fm, 0, 1, d);
        }
        double[][] out = linear("final_layer.linear", fx);
        int co = c.outChannels();
        double[][][] res = new double[co][c.inputSize()][c.inputSize()];
        for (int gy = 0; gy < g; gy++) {
            for (int gx = 0; gx < g; gx++) {
                for (int i = 0; i < p; i++) {
                    for (int j = 0; j < p; j++) {
                        for (int ch = 0; ch < co; ch++) {
                            res[ch][gy * p + i][gx * p + j] = out[gy * g + gx][(i * p + j) * co + ch];
                        }
                    }
                }
            }
        }
        return res;
    }

    private static double[] modulate(double[] v, double[] mod, int shiftChunk, int scaleChunk, int d) {
        double[] o = new double[d];
        for (int i = 0; i < d; i++) {
            o[i] = v[i] * (1 + mod[scaleChunk * d + i]) + mod[shiftChunk * d + i];
        }
        return o;
    }

    private double[][] attention(double[][] qkv) {
        int d = c.hiddenSize();
        int heads = c.numHeads();
        int dh = d / heads;
        int t = qkv.length;
        double[][] out = new double[t][d];
        for (int hh = 0; hh < heads; hh++) {
            for (int i = 0; i < t; i++) {
                double[] s = new double[t];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < t; j++) {
                    double dot = 0;
                    for (int e = 0; e < dh; e++) {
                        dot += qkv[i][hh * dh + e] * qkv[j][d + hh * dh + e];
                    }
                    s[j] = dot / Math.sqrt(dh);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < t; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int e = 0; e < dh; e++) {
                    double acc = 0;
                    for (int j = 0; j < t; j++) {
                        acc += s[j] * qkv[j][2 * d + hh * dh + e];
                    }
                    out[i][hh * dh + e] = acc / sum;
                }
            }
        }
        return out;
    }
}
