package dev.nibble.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import dev.nibble.bench.onnx.OnnxGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The peers compute what the benchmark claims they compute: the hand-encoded ONNX models load in
 * ONNX Runtime and give x·wᵀ (MatMulNBits: with the 4-bit weights as packed; MatMulInteger: exactly
 * in int32), and the Jlama calls give x·wᵀ. A wrong field number, nibble order or scale layout fails.
 */
class PeerCorrectnessTest {
    private static final GemmShape S = new GemmShape(3, 128, 8);

    @Test
    void matMulNBitsComputesTheDequantizedProduct() throws Exception {
        float[] x = S.activations();
        float[] w = S.weights();
        OrtCases.NBits q = OrtCases.quantizeNBits(w, S.n(), S.k(), 64);
        float[] wq = dequantize(q, S.n(), S.k(), 64);
        for (int accuracy : new int[] {0, 4}) {
            byte[] model = OnnxGraphs.matMulNBits(S.m(), S.k(), S.n(), 64, accuracy, q.packed(), q.scales());
            float[] y = runFloat(model, x);
            float[] expected = product(x, wq);
            // accuracy level 4 quantizes activations to int8 per block: allow its rounding
            float tol = accuracy == 0 ? 1e-4f : 0.02f;
            for (int i = 0; i < y.length; i++) {
                assertThat(y[i]).as("accuracy_level %d, element %d", accuracy, i).isCloseTo(expected[i], within(tol));
            }
        }
        // the 4-bit weights are close to w, so the test would notice a wrong nibble order or scale layout
        assertThat(maxAbsDiff(product(x, wq), product(x, w))).isLessThan(0.2f);
    }

    @Test
    void matMulIntegerIsExact() throws Exception {
        int m = 2;
        int k = 5;
        int n = 3;
        byte[] a = {(byte) 128, (byte) 129, (byte) 255, 0, (byte) 130, (byte) 127, (byte) 128, 1, (byte) 200, 77};
        byte[] b = new byte[k * n];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 37 - 100);
        }
        byte[] model = OnnxGraphs.matMulInteger(m, k, n, b, 128);
        try (OrtEnvironment env = OrtEnvironment.getEnvironment();
                OrtSession session = env.createSession(model, new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(a.length).put(a).flip(),
                        new long[] {m, k}, OnnxJavaType.UINT8);
                OrtSession.Result r = session.run(Map.of("A", in))) {
            int[][] y = (int[][]) r.get(0).getValue();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int acc = 0;
                    for (int t = 0; t < k; t++) {
                        acc += ((a[i * k + t] & 0xFF) - 128) * b[t * n + j];
                    }
                    assertThat(y[i][j]).isEqualTo(acc);
                }
            }
        }
    }

    @Test
    void jlamaF32Q4ComputesXTimesWTransposed() {
        GemmShape s = new GemmShape(8, 128, 16);
        GemmCase c = JlamaCases.create(s, "f32", false);
        FloatBufferTensor y = (FloatBufferTensor) c.run();
        float[] expected = product(s, s.activations(), s.weights());
        for (int i = 0; i < s.m(); i++) {
            for (int j = 0; j < s.n(); j++) {
                assertThat(y.get(i, j)).isCloseTo(expected[i * s.n() + j], within(1e-3f));
            }
        }
        FloatBufferTensor yq = (FloatBufferTensor) JlamaCases.create(s, "q4", true).run();
        for (int i = 0; i < s.m(); i++) {
            for (int j = 0; j < s.n(); j++) {
                assertThat(yq.get(i, j)).isCloseTo(expected[i * s.n() + j], within(0.1f));
            }
        }
    }

    private static float[] runFloat(byte[] model, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model, new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {S.m(), S.k()});
                OrtSession.Result r = session.run(Map.of("A", in))) {
            float[][] y = (float[][]) r.get(0).getValue();
            float[] flat = new float[S.m() * S.n()];
            for (int i = 0; i < S.m(); i++) {
                System.arraycopy(y[i], 0, flat, i * S.n(), S.n());
            }
            return flat;
        }
    }

    private static float[] dequantize(OrtCases.NBits q, int n, int k, int block) {
        ByteBuffer scales = ByteBuffer.wrap(q.scales()).order(ByteOrder.LITTLE_ENDIAN);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            int b = q.packed()[i / 2] & 0xFF;
            int code = (i % 2 == 0 ? b & 0xF : b >> 4) - 8;
            w[i] = code * scales.getFloat(4 * (i / block));
        }
        return w;
    }

    private static float[] product(float[] x, float[] w) {
        return product(S, x, w);
    }

    private static float[] product(GemmShape s, float[] x, float[] w) {
        float[] y = new float[s.m() * s.n()];
        for (int i = 0; i < s.m(); i++) {
            for (int j = 0; j < s.n(); j++) {
                double acc = 0;
                for (int t = 0; t < s.k(); t++) {
                    acc += (double) x[i * s.k() + t] * w[j * s.k() + t];
                }
                y[i * s.n() + j] = (float) acc;
            }
        }
        return y;
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}
