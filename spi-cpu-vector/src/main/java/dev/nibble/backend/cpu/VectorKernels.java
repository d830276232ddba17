package dev.nibble.backend.cpu;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.api.numerics.Nf4;
import dev.nibble.api.numerics.Quantizer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on the Vector API with the preferred species of this CPU (512-bit on AVX-512, 256 on
 * AVX2). Operations not overridden here run the scalar loops of {@link ScalarKernels}.
 */
class VectorKernels extends ScalarKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = IntGemm.I;
    private static final float MAGIC = IntGemm.MAGIC;
    private static final float[] NF4 = Nf4.values();

    VectorKernels(WorkerPool pool) {
        super(pool);
    }

    @Override
    String path() {
        return "vector";
    }

    /**
     * The range statistics with vectors (max and min are exact in any order), then the scheme's
     * scale formula from {@link Quantizer#computeParams} on those statistics, so scales are the
     * canonical ones bit for bit.
     */
    @Override
    void params(float[] x, int from, int to, QuantScheme s, float[] scales, int[] zeros, int at) {
        int i = from;
        if (s.symmetric()) {
            FloatVector mx = FloatVector.zero(F);
            for (; i + L <= to; i += L) {
                mx = mx.max(FloatVector.fromArray(F, x, i).abs());
            }
            float absmax = mx.reduceLanes(VectorOperators.MAX);
            for (; i < to; i++) {
                absmax = Math.max(absmax, Math.abs(x[i]));
            }
            Quantizer.computeParams(new float[] {absmax}, 0, 1, s, scales, zeros, at);
        } else {
            FloatVector lo = FloatVector.zero(F);
            FloatVector hi = lo;
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            float l = lo.reduceLanes(VectorOperators.MIN);
            float h = hi.reduceLanes(VectorOperators.MAX);
            for (; i < to; i++) {
                l = Math.min(l, x[i]);
                h = Math.max(h, x[i]);
            }
            Quantizer.computeParams(new float[] {l, h}, 0, 2, s, scales, zeros, at);
        }
    }

    /**
     * {@code clamp(rint(x / scale) + zero)} with IEEE division; rint by the 1.5·2^23 trick, exact
     * for |q| < 2^22 (larger values clamp to the same code either way). NF4 keeps the scalar rule
     * (nearest value, ties to the lower index) as a 16-step vector compare.
     */
    @Override
    void encode(float[] x, int from, int to, float scale, int zero, QuantScheme s, byte[] codes) {
        int i = from;
        if (s.format() == QuantScheme.Format.NF4) {
            if (scale != 0f) {
                for (; i + L <= to; i += L) {
                    FloatVector v = FloatVector.fromArray(F, x, i).div(scale);
                    FloatVector best = FloatVector.broadcast(F, NF4[0]).sub(v).abs();
                    IntVector idx = IntVector.zero(I);
                    for (int c = 1; c < 16; c++) {
                        FloatVector d = FloatVector.broadcast(F, NF4[c]).sub(v).abs();
                        VectorMask<Float> closer = d.lt(best);
                        best = best.blend(d, closer);
                        idx = idx.blend(c, closer.cast(I));
                    }
                    idx.convertShape(VectorOperators.I2B, IntGemm.B, 0).reinterpretAsBytes().intoArray(codes, i);
                }
            }
            super.encode(x, i, to, scale, zero, s, codes);
            return;
        }
        if (scale != 0f) {
            float qmin = s.qmin();
            float qmax = s.qmax();
            float z = zero;
            for (; i + L <= to; i += L) {
                FloatVector q = FloatVector.fromArray(F, x, i).div(scale);
                q = q.add(MAGIC).sub(MAGIC).add(z).min(qmax).max(qmin);
                IntVector c = (IntVector) q.convert(VectorOperators.F2I, 0);
                c.convertShape(VectorOperators.I2B, IntGemm.B, 0).reinterpretAsBytes().intoArray(codes, i);
            }
        }
        super.encode(x, i, to, scale, zero, s, codes);
    }

    @Override
    float[] rotate(float[] x, int rows, int k, Rotation rotation) {
        int kp = rotation.outputDim(k);
        float[] out = new float[rows * kp];
        if (rotation instanceof Rotation.Dense d) {
            float[] q = d.matrix().toFloatArray();
            pool.forEach(rows, r -> VectorRotations.denseRow(x, r * k, q, k, out, r * kp));
            return out;
        }
        if (VectorRotations.IN_REGISTER && kp == k && rotation instanceof Rotation.RegularHadamard rh
                && rh.blockSize() >= 64) {
            // one pass: each block is read from x, rotated in registers and stored once
            int n = rh.blockSize();
            int chunk = Math.max(1, 8192 / k);
            pool.forEach((rows + chunk - 1) / chunk, t -> {
                int to = Math.min(rows, (t + 1) * chunk) * k;
                for (int i = t * chunk * k; i < to; i += n) {
                    VectorRotations.regularBlockInto(x, i, out, i, n);
                }
            });
            return out;
        }
        int chunk = Math.max(1, 8192 / Math.max(1, kp));
        int tasks = (rows + chunk - 1) / chunk;
        pool.forEach(tasks, t -> {
            float[] tmp = new float[256 * L];
            for (int r = t * chunk; r < Math.min(rows, (t + 1) * chunk); r++) {
                System.arraycopy(x, r * k, out, r * kp, k);
                VectorRotations.rotateRow(out, r * kp, k, kp, rotation, tmp);
            }
        });
        return out;
    }

    @Override
    float[] smooth(float[] x, int rows, int k, float[] divisor) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * k;
            int j = 0;
            for (; j + L <= k; j += L) {
                FloatVector.fromArray(F, x, o + j).div(FloatVector.fromArray(F, divisor, j)).intoArray(y, o + j);
            }
            for (; j < k; j++) {
                y[o + j] = x[o + j] / divisor[j];
            }
        });
        return y;
    }

    @Override
    float[] addRow(float[] x, int rows, int k, float[] offset) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * k;
            int j = 0;
            for (; j + L <= k; j += L) {
                FloatVector.fromArray(F, x, o + j).add(FloatVector.fromArray(F, offset, j)).intoArray(y, o + j);
            }
            for (; j < k; j++) {
                y[o + j] = x[o + j] + offset[j];
            }
        });
        return y;
    }

    @Override
    float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        int i = 0;
        for (; i + L <= a.length; i += L) {
            FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(y, i);
        }
        for (; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    /** Half-width shorts: one ShortVector load per FloatVector of the preferred species. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    /** Elements per task of the BF16 conversions (a multiple of every vector length). */
    private static final int BF16_CHUNK = 1 << 16;

    /** BF16 bits shifted into the high half of an int: the exact float, as {@link Bf16#widen}. */
    @Override
    float[] widenBf16(short[] x) {
        float[] f = new float[x.length];
        pool.forEach((x.length + BF16_CHUNK - 1) / BF16_CHUNK, c -> {
            int i = c * BF16_CHUNK;
            int end = Math.min(x.length, i + BF16_CHUNK);
            for (; i + L <= end; i += L) {
                IntVector v = (IntVector) ShortVector.fromArray(S, x, i).convertShape(VectorOperators.S2I, I, 0);
                v.and(0xFFFF).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(f, i);
            }
            for (; i < end; i++) {
                f[i] = Bf16.widen(x[i]);
            }
        });
        return f;
    }

    /**
     * Round to nearest even on the bits, as {@link Bf16#round}: add 0x7FFF plus the lowest kept bit,
     * keep the high half; a NaN keeps its high half with the quiet bit set.
     */
    @Override
    short[] roundBf16(float[] y) {
        short[] s = new short[y.length];
        pool.forEach((y.length + BF16_CHUNK - 1) / BF16_CHUNK, c -> {
            int i = c * BF16_CHUNK;
            int end = Math.min(y.length, i + BF16_CHUNK);
            for (; i + L <= end; i += L) {
                IntVector bits = FloatVector.fromArray(F, y, i).reinterpretAsInts();
                IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
                IntVector rounded = bits.add(0x7FFF).add(high.and(1)).lanewise(VectorOperators.LSHR, 16);
                VectorMask<Integer> nan = bits.and(0x7FFF_FFFF).compare(VectorOperators.GT, 0x7F80_0000);
                IntVector r = rounded.blend(high.or(0x40), nan);
                ((ShortVector) r.convertShape(VectorOperators.I2S, S, 0)).intoArray(s, i);
            }
            for (; i < end; i++) {
                s[i] = Bf16.round(y[i]);
            }
        });
        return s;
    }

    // ---- DiT operations: float32 within the contract's tolerances (VectorExp: same bits run to run) ----

    @Override
    float[] gelu(float[] x) {
        float[] y = new float[x.length];
        float c = (float) Math.sqrt(2.0 / Math.PI);
        int tasks = Math.max(1, x.length / 65536);
        int per = (x.length / tasks + L - 1) / L * L;
        pool.forEach(tasks, t -> {
            int from = t * per;
            int to = Math.min(x.length, from + per);
            int i = from;
            for (; i + L <= to; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector inner = v.mul(v).mul(v).mul(0.044715f).add(v).mul(c);
                v.mul(0.5f).mul(VectorExp.tanh(inner).add(1f)).intoArray(y, i);
            }
            for (; i < to; i++) {
                float v = x[i];
                y[i] = 0.5f * v * (1f + (float) Math.tanh(c * (v + 0.044715f * v * v * v)));
            }
        });
        return y;
    }

    @Override
    float[] silu(float[] x) {
        float[] y = new float[x.length];
        int i = 0;
        for (; i + L <= x.length; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            v.div(VectorExp.exp(v.neg()).add(1f)).intoArray(y, i);
        }
        for (; i < x.length; i++) {
            y[i] = x[i] / (1f + (float) Math.exp(-x[i]));
        }
        return y;
    }

    @Override
    float[] softmax(float[] x, int rows, int d) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> softmaxRowVector(x, r * d, d, y, r * d));
        return y;
    }

    static void softmaxRowVector(float[] x, int off, int d, float[] y, int yo) {
        int i = 0;
        FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i + L <= d; i += L) {
            mx = mx.max(FloatVector.fromArray(F, x, off + i));
        }
        float max = mx.reduceLanes(VectorOperators.MAX);
        for (; i < d; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector sum = FloatVector.zero(F);
        i = 0;
        for (; i + L <= d; i += L) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(F, x, off + i).sub(max));
            e.intoArray(y, yo + i);
            sum = sum.add(e);
        }
        float s = LaneSum.of(sum);
        for (; i < d; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            y[yo + i] = e;
            s += e;
        }
        float inv = 1f / s;
        i = 0;
        for (; i + L <= d; i += L) {
            FloatVector.fromArray(F, y, yo + i).mul(inv).intoArray(y, yo + i);
        }
        for (; i < d; i++) {
            y[yo + i] *= inv;
        }
    }

    @Override
    float[] layerNorm(float[] x, int rows, int d, float eps) {
        float[] y = new float[x.length];
        pool.forEach(rows, r -> {
            int o = r * d;
            int i = 0;
            FloatVector acc = FloatVector.zero(F);
            for (; i + L <= d; i += L) {
                acc = acc.add(FloatVector.fromArray(F, x, o + i));
            }
            double sum = LaneSum.of(acc);
            for (; i < d; i++) {
                sum += x[o + i];
            }
            float mean = (float) (sum / d);
            acc = FloatVector.zero(F);
            i = 0;
            for (; i + L <= d; i += L) {
                FloatVector c = FloatVector.fromArray(F, x, o + i).sub(mean);
                acc = c.fma(c, acc);
            }
            double var = LaneSum.of(acc);
            for (; i < d; i++) {
                float c = x[o + i] - mean;
                var += c * c;
            }
            float inv = (float) (1.0 / Math.sqrt(var / d + eps));
            i = 0;
            for (; i + L <= d; i += L) {
                FloatVector.fromArray(F, x, o + i).sub(mean).mul(inv).intoArray(y, o + i);
            }
            for (; i < d; i++) {
                y[o + i] = (x[o + i] - mean) * inv;
            }
        });
        return y;
    }

    @Override
    float[] modulate(float[] x, int b, int t, int d, float[] shift, float[] scale) {
        float[] y = new float[x.length];
        pool.forEach(b * t, row -> {
            int bi = row / t;
            int o = row * d;
            int i = 0;
            for (; i + L <= d; i += L) {
                FloatVector sc = FloatVector.fromArray(F, scale, bi * d + i).add(1f);
                FloatVector.fromArray(F, x, o + i).mul(sc).add(FloatVector.fromArray(F, shift, bi * d + i))
                        .intoArray(y, o + i);
            }
            for (; i < d; i++) {
                y[o + i] = x[o + i] * (1f + scale[bi * d + i]) + shift[bi * d + i];
            }
        });
        return y;
    }

    @Override
    float[] gatedAdd(float[] res, int b, int t, int d, float[] gate, float[] y) {
        float[] out = new float[res.length];
        pool.forEach(b * t, row -> {
            int bi = row / t;
            int o = row * d;
            int i = 0;
            for (; i + L <= d; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, bi * d + i);
                g.fma(FloatVector.fromArray(F, y, o + i), FloatVector.fromArray(F, res, o + i)).intoArray(out, o + i);
            }
            for (; i < d; i++) {
                out[o + i] = res[o + i] + gate[bi * d + i] * y[o + i];
            }
        });
        return out;
    }

    /**
     * Per (batch, head): scores with keys along the vector lanes (k transposed, one fma per head
     * dimension: no lane reductions, so the same bits run to run), vector softmax, probabilities × v by rows.
     */
    @Override
    float[] attention(float[] qkv, int b, int t, int d, int heads) {
        int hd = d / heads;
        float[] out = new float[b * t * d];
        float scale = (float) (1.0 / Math.sqrt(hd));
        pool.forEach(b * heads, task -> {
            int bi = task / heads;
            int h = task % heads;
            // gather this head's q, k, v contiguously: [t][hd]
            float[] q = new float[t * hd];
            float[] kt = new float[hd * t]; // [hd][t]
            float[] v = new float[t * hd];
            for (int i = 0; i < t; i++) {
                int base = (bi * t + i) * 3 * d + h * hd;
                System.arraycopy(qkv, base, q, i * hd, hd);
                for (int e = 0; e < hd; e++) {
                    kt[e * t + i] = qkv[base + d + e];
                }
                System.arraycopy(qkv, base + 2 * d, v, i * hd, hd);
            }
            float[] scores = new float[t];
            float[] probs = new float[t];
            float[] acc = new float[hd];
            for (int i = 0; i < t; i++) {
                scores(q, i * hd, kt, t, hd, scale, scores);
                softmaxRowVector(scores, 0, t, probs, 0);
                java.util.Arrays.fill(acc, 0f);
                for (int j = 0; j < t; j++) {
                    float p = probs[j];
                    int e = 0;
                    for (; e + L <= hd; e += L) {
                        FloatVector.fromArray(F, v, j * hd + e).fma(FloatVector.broadcast(F, p), FloatVector.fromArray(F, acc, e)).intoArray(acc, e);
                    }
                    for (; e < hd; e++) {
                        acc[e] += p * v[j * hd + e];
                    }
                }
                System.arraycopy(acc, 0, out, (bi * t + i) * d + h * hd, hd);
            }
        });
        return out;
    }

    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int e = 0;
        FloatVector s = FloatVector.zero(F);
        for (; e + L <= n; e += L) {
            s = FloatVector.fromArray(F, a, ao + e).fma(FloatVector.fromArray(F, b, bo + e), s);
        }
        float r = LaneSum.of(s);
        for (; e < n; e++) {
            r += a[ao + e] * b[bo + e];
        }
        return r;
    }

    /** scores[j] = scale · Σ_e q[e]·kt[e][j], summed over e in order, keys j along the lanes. */
    static void scores(float[] q, int qo, float[] kt, int t, int hd, float scale, float[] scores) {
        int j = 0;
        for (; j + L <= t; j += L) {
            FloatVector s = FloatVector.zero(F);
            for (int e = 0; e < hd; e++) {
                s = FloatVector.fromArray(F, kt, e * t + j).fma(FloatVector.broadcast(F, q[qo + e]), s);
            }
            s.mul(scale).intoArray(scores, j);
        }
        for (; j < t; j++) {
            float s = 0f;
            for (int e = 0; e < hd; e++) {
                s = Math.fma(kt[e * t + j], q[qo + e], s); // the lanes' arithmetic, one key at a time
            }
            scores[j] = s * scale;
        }
    }

    @Override
    Object prepareDense(float[] w, int n, int k) {
        return FloatGemm.pack(w, n, k);
    }

    @Override
    float[] gemmDensePrepared(float[] x, int m, int k, Object w, int n) {
        float[] y = new float[m * n];
        FloatGemm.runPacked(pool, x, m, k, (float[]) w, n, y);
        return y;
    }

    @Override
    Object prepareIntWeight(Quantized w) {
        return new PackedWeight(w, IntGemm.L);
    }

    @Override
    Object prepareWeightOnly(Quantized w) {
        return new PackedWeight(w, IntGemm.L);
    }

    @Override
    long preparedBytes(Object prepared) {
        return ((PackedWeight) prepared).byteSize();
    }

    @Override
    int[] accumulate(Quantized a, Quantized w, int g) {
        int groups = Math.max(1, (a.k() + g - 1) / g);
        int[] acc = new int[groups * a.rows() * w.rows()];
        IntGemm.run(pool, a, new PackedWeight(w, IntGemm.L), g, null, acc);
        return acc;
    }

    @Override
    float[] gemmQuantized(Quantized a, Quantized w, int g) {
        return gemmQuantizedPrepared(a, new PackedWeight(w, IntGemm.L));
    }

    @Override
    float[] gemmQuantizedPrepared(Quantized a, Object prepared) {
        PackedWeight w = (PackedWeight) prepared;
        int g = CpuKernelBackend.outputGroup(a, w.q);
        float[] y = new float[a.rows() * w.n];
        IntGemm.run(pool, a, w, g, y, null);
        return y;
    }

    @Override
    float[] gemmWeightOnly(float[] x, int m, Quantized w) {
        return gemmWeightOnlyPrepared(x, m, new PackedWeight(w, IntGemm.L));
    }

    @Override
    float[] gemmWeightOnlyPrepared(float[] x, int m, Object prepared) {
        PackedWeight w = (PackedWeight) prepared;
        float[] y = new float[m * w.n];
        IntGemm.weightOnly(pool, x, m, w, y);
        return y;
    }

    @Override
    float[] gemm(float[] x, int m, int k, float[] w, int n) {
        float[] y = new float[m * n];
        FloatGemm.run(pool, x, m, k, w, n, y);
        return y;
    }
}
