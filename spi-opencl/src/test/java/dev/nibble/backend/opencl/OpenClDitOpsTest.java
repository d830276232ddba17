package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** The DiT element-wise and row operations against float64 references. */
class OpenClDitOpsTest {
    private final Random r = new Random(17);

    private static void close(float[] got, double[] want, double tol) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < got.length; i++) {
            assertThat((double) got[i]).as("element %d", i).isCloseTo(want[i], Offset.offset(tol + tol * Math.abs(want[i])));
        }
    }

    @Test
    void layerNormSoftmaxGeluSilu() {
        OpenClBackend b = ClTestSupport.backend();
        int rows = 7;
        int d = 130;
        float[] x = ClTestSupport.randomFloats(r, rows * d, 3f);
        double[] ln = new double[x.length];
        double[] sm = new double[x.length];
        double[] ge = new double[x.length];
        double[] si = new double[x.length];
        for (int i = 0; i < rows; i++) {
            double mean = 0;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < d; j++) {
                mean += x[i * d + j];
                max = Math.max(max, x[i * d + j]);
            }
            mean /= d;
            double var = 0;
            double sum = 0;
            for (int j = 0; j < d; j++) {
                var += (x[i * d + j] - mean) * (x[i * d + j] - mean);
                sum += Math.exp(x[i * d + j] - max);
            }
            var /= d;
            for (int j = 0; j < d; j++) {
                double v = x[i * d + j];
                ln[i * d + j] = (v - mean) / Math.sqrt(var + 1e-6);
                sm[i * d + j] = Math.exp(v - max) / sum;
                ge[i * d + j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                si[i * d + j] = v / (1 + Math.exp(-v));
            }
        }
        try (DeviceTensor dx = b.upload(Tensor.ofFloats(x, rows, d)); DeviceTensor a = b.layerNorm(dx, 1e-6f);
                DeviceTensor s = b.softmax(dx); DeviceTensor g = b.gelu(dx); DeviceTensor l = b.silu(dx)) {
            close(b.download(a).toFloatArray(), ln, 1e-5);
            close(b.download(s).toFloatArray(), sm, 1e-6);
            close(b.download(g).toFloatArray(), ge, 1e-5);
            close(b.download(l).toFloatArray(), si, 1e-5);
        }
    }

    @Test
    void modulateAndGatedAdd() {
        OpenClBackend b = ClTestSupport.backend();
        int bs = 2;
        int t = 5;
        int d = 24;
        float[] x = ClTestSupport.randomFloats(r, bs * t * d, 1f);
        float[] y = ClTestSupport.randomFloats(r, bs * t * d, 1f);
        float[] sh = ClTestSupport.randomFloats(r, bs * d, 1f);
        float[] sc = ClTestSupport.randomFloats(r, bs * d, 1f);
        double[] mod = new double[x.length];
        double[] gat = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int bi = i / (t * d);
            int di = i % d;
            mod[i] = x[i] * (1.0 + sc[bi * d + di]) + sh[bi * d + di];
            gat[i] = x[i] + (double) sh[bi * d + di] * y[i];
        }
        try (DeviceTensor dx = b.upload(Tensor.ofFloats(x, bs, t, d)); DeviceTensor dy = b.upload(Tensor.ofFloats(y, bs, t, d));
                DeviceTensor dsh = b.upload(Tensor.ofFloats(sh, bs, d)); DeviceTensor dsc = b.upload(Tensor.ofFloats(sc, bs, d));
                DeviceTensor m = b.modulate(dx, dsh, dsc); DeviceTensor g = b.gatedAdd(dx, dsh, dy)) {
            close(b.download(m).toFloatArray(), mod, 1e-6);
            close(b.download(g).toFloatArray(), gat, 1e-6);
        }
    }

    @Test
    void attentionInTheDitLayout() {
        OpenClBackend b = ClTestSupport.backend();
        int bs = 2;
        int t = 9;
        int heads = 3;
        int hd = 8;
        int d = heads * hd;
        float[] qkv = ClTestSupport.randomFloats(r, bs * t * 3 * d, 1f);
        double[] want = new double[bs * t * d];
        for (int bi = 0; bi < bs; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        for (int c = 0; c < hd; c++) {
                            s[j] += (double) qkv[(bi * t + i) * 3 * d + h * hd + c] * qkv[(bi * t + j) * 3 * d + d + h * hd + c];
                        }
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int c = 0; c < hd; c++) {
                        double o = 0;
                        for (int j = 0; j < t; j++) {
                            o += s[j] / sum * qkv[(bi * t + j) * 3 * d + 2 * d + h * hd + c];
                        }
                        want[(bi * t + i) * d + h * hd + c] = o;
                    }
                }
            }
        }
        try (DeviceTensor dq = b.upload(Tensor.ofFloats(qkv, bs, t, 3 * d)); DeviceTensor y = b.attention(dq, heads)) {
            assertThat(y.shape().dims()).containsExactly(bs, t, d);
            close(b.download(y).toFloatArray(), want, 1e-5);
        }
    }
}
