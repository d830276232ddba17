package dev.nibble.backend.cpu;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.KernelBackend;
import java.util.Map;
import java.util.Random;

/** Shared test helpers: backends on both paths, random data, double-precision references. */
final class Fixtures {
    private Fixtures() {
    }

    static KernelBackend open(String path) {
        CpuBackendProvider p = new CpuBackendProvider();
        DeviceInfo d = p.probe().devices().getFirst();
        return p.open(d, Map.of("threads", "2", "scalar", Boolean.toString(path.equals("scalar"))));
    }

    static float[] random(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }

    static Tensor tensor(Random r, float scale, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return Tensor.ofFloats(random(r, (int) n, scale), dims);
    }

    /** y = x·wᵀ in double. */
    static double[] gemm(float[] x, int m, int k, float[] w, int n) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += (double) x[i * k + t] * w[j * k + t];
                }
                y[i * n + j] = s;
            }
        }
        return y;
    }

    /** Max |a - b| relative to max |b| (or 1e-30). */
    static double relError(float[] a, double[] b) {
        double err = 0;
        double max = 1e-30;
        for (int i = 0; i < b.length; i++) {
            err = Math.max(err, Math.abs(a[i] - b[i]));
            max = Math.max(max, Math.abs(b[i]));
        }
        return err / max;
    }
}
