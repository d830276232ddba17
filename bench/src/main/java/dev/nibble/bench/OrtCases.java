package dev.nibble.bench;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.nibble.bench.onnx.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * ONNX Runtime (CPU execution provider, MLAS kernels) on the same shapes: one single-node model per
 * case, built in code, weights as initializers (so ORT pre-packs them at session creation, as it does
 * for a real model), activations bound once as a direct buffer.
 */
final class OrtCases {
    private OrtCases() {
    }

    /** MatMulNBits block size: the same group size as Nibble's g64 schemes. */
    static final int NBITS_BLOCK = 64;

    /** System property: turn off ORT's spin-waiting of idle intra-op threads. */
    static final String NO_SPIN = "nibble.bench.ortNoSpin";

    static GemmCase matMulF32(GemmShape s) {
        float[] w = s.weights();
        ByteBuffer b = le(4L * s.k() * s.n());
        for (int k = 0; k < s.k(); k++) {
            for (int n = 0; n < s.n(); n++) {
                b.putFloat(w[n * s.k() + k]);
            }
        }
        return session(OnnxGraphs.matMul(s.m(), s.k(), s.n(), b.array()), floatInput(s));
    }

    /** MatMulInteger, uint8 activations (zero point 128) × int8 weights → int32: the u8s8 fast path of MLAS. */
    static GemmCase matMulInteger(GemmShape s) {
        float[] w = s.weights();
        byte[] b = new byte[s.k() * s.n()];
        for (int n = 0; n < s.n(); n++) {
            float scale = absMax(w, n * s.k(), s.k()) / 127f;
            for (int k = 0; k < s.k(); k++) {
                b[k * s.n() + n] = (byte) clamp(Math.rint(w[n * s.k() + k] / scale), -127, 127);
            }
        }
        float[] x = s.activations();
        float xs = absMax(x, 0, x.length) / 127f;
        ByteBuffer a = ByteBuffer.allocateDirect(x.length).order(ByteOrder.nativeOrder());
        for (float v : x) {
            a.put((byte) (clamp(Math.rint(v / xs), -127, 127) + 128));
        }
        a.flip();
        byte[] model = OnnxGraphs.matMulInteger(s.m(), s.k(), s.n(), b, 128);
        return session(model, env -> OnnxTensor.createTensor(env, a, new long[] {s.m(), s.k()}, OnnxJavaType.UINT8));
    }

    /**
     * MatMulNBits, 4-bit symmetric blocks of {@value #NBITS_BLOCK} along K.
     *
     * @param accuracyLevel 0: float compute (dequantize weights); 4: int8 compute (activations quantized
     *     per block on the fly, W4A8), the fastest CPU path of MLAS
     */
    static GemmCase matMulNBits(GemmShape s, int accuracyLevel) {
        NBits q = quantizeNBits(s.weights(), s.n(), s.k(), NBITS_BLOCK);
        byte[] model = OnnxGraphs.matMulNBits(s.m(), s.k(), s.n(), NBITS_BLOCK, accuracyLevel, q.packed(), q.scales());
        return session(model, floatInput(s));
    }

    /**
     * MatMulNBits weights: per block of K, symmetric 4-bit, stored unsigned with the implicit zero point 8.
     *
     * @param packed {@code [N, K/block, block/2]}, element 2i in the low nibble
     * @param scales little-endian float32 {@code [N · K/block]}
     */
    record NBits(byte[] packed, byte[] scales) {
    }

    static NBits quantizeNBits(float[] w, int n, int k, int block) {
        int blocks = k / block;
        byte[] packed = new byte[n * k / 2];
        ByteBuffer scales = le(4L * n * blocks);
        for (int row = 0; row < n; row++) {
            for (int g = 0; g < blocks; g++) {
                int off = row * k + g * block;
                float scale = absMax(w, off, block) / 7f;
                scales.putFloat(scale);
                for (int i = 0; i < block; i += 2) {
                    int lo = clamp(Math.rint(w[off + i] / scale), -8, 7) + 8;
                    int hi = clamp(Math.rint(w[off + i + 1] / scale), -8, 7) + 8;
                    packed[(off + i) / 2] = (byte) (lo | (hi << 4));
                }
            }
        }
        return new NBits(packed, scales.array());
    }

    private interface InputFactory {
        OnnxTensor create(OrtEnvironment env) throws OrtException;
    }

    private static InputFactory floatInput(GemmShape s) {
        float[] x = s.activations();
        ByteBuffer a = ByteBuffer.allocateDirect(4 * x.length).order(ByteOrder.nativeOrder());
        a.asFloatBuffer().put(x);
        return env -> OnnxTensor.createTensor(env, a.asFloatBuffer(), new long[] {s.m(), s.k()});
    }

    private static GemmCase session(byte[] model, InputFactory input) {
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            // the same cores Nibble's backend uses; everything else left at ORT's defaults
            options.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (Boolean.getBoolean(NO_SPIN)) {
                // interleaved runs: idle ORT threads must not spin while another library is timed
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
            }
            OrtSession session = env.createSession(model, options);
            OnnxTensor a = input.create(env);
            Map<String, OnnxTensor> feeds = Map.of("A", a);
            return new GemmCase() {
                @Override
                public Object run() {
                    try (OrtSession.Result r = session.run(feeds)) {
                        return r.get(0).getInfo();
                    } catch (OrtException e) {
                        throw new IllegalStateException("ONNX Runtime failed", e);
                    }
                }

                @Override
                public void close() {
                    a.close();
                    try {
                        session.close();
                    } catch (OrtException e) {
                        throw new IllegalStateException(e);
                    }
                    options.close();
                }
            };
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not create the session: " + e.getMessage(), e);
        }
    }

    private static ByteBuffer le(long bytes) {
        return ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float absMax(float[] v, int off, int len) {
        float m = 0;
        for (int i = off; i < off + len; i++) {
            m = Math.max(m, Math.abs(v[i]));
        }
        return m == 0 ? 1 : m;
    }

    private static int clamp(double v, int lo, int hi) {
        return (int) Math.max(lo, Math.min(hi, v));
    }
}
