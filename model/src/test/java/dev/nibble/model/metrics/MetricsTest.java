package dev.nibble.model.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void psnrOfAKnownError() {
        float[] a = new float[256];
        float[] b = new float[256];
        for (int i = 0; i < 256; i++) {
            b[i] = 0.1f; // mse = 0.01 → 10·log10(4 / 0.01) = 26.0206 dB
        }
        assertThat(ImageMetrics.psnr(a, b)).isCloseTo(26.0206, within(1e-3));
        assertThat(ImageMetrics.psnr(a, a)).isInfinite();
    }

    @Test
    void ssimIsOneForIdenticalAndFallsWithNoise() {
        SplittableRandom r = new SplittableRandom(1);
        float[] a = new float[256];
        float[] noisy = new float[256];
        float[] veryNoisy = new float[256];
        for (int i = 0; i < 256; i++) {
            a[i] = (float) Math.sin(i / 9.0);
            double n = r.nextGaussian();
            noisy[i] = (float) (a[i] + 0.05 * n);
            veryNoisy[i] = (float) (a[i] + 0.5 * n);
        }
        assertThat(ImageMetrics.ssim(a, a, 1, 16, 16)).isCloseTo(1.0, within(1e-12));
        double s1 = ImageMetrics.ssim(a, noisy, 1, 16, 16);
        double s2 = ImageMetrics.ssim(a, veryNoisy, 1, 16, 16);
        assertThat(s1).isLessThan(1.0).isGreaterThan(s2);
        assertThat(s2).isLessThan(0.8);
        // a constant shift of the mean alone: SSIM's luminance term, computed by hand for one window
        float[] c0 = new float[256];
        float[] c1 = new float[256];
        java.util.Arrays.fill(c1, 0.2f);
        double cc1 = Math.pow(0.02, 2);
        assertThat(ImageMetrics.ssim(c0, c1, 1, 16, 16)).isCloseTo(cc1 / (0.04 + cc1), within(1e-9));
    }

    @Test
    void jacobiDiagonalizesAndTakesSquareRoots() {
        double[][] m = {{4, 1, 0.5}, {1, 3, 0.2}, {0.5, 0.2, 2}};
        SymmetricEigen e = new SymmetricEigen(m);
        double[] v = e.values();
        double[][] q = e.vectors();
        // A·q_k = λ_k·q_k
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 3; i++) {
                double s = 0;
                for (int j = 0; j < 3; j++) {
                    s += m[i][j] * q[j][k];
                }
                assertThat(s).isCloseTo(v[k] * q[i][k], within(1e-10));
            }
        }
        assertThat(v[0] + v[1] + v[2]).isCloseTo(9.0, within(1e-10));
        double[][] r = SymmetricEigen.sqrt(m);
        double[][] rr = FrechetDistance.multiply(r, r);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertThat(rr[i][j]).isCloseTo(m[i][j], within(1e-10));
            }
        }
    }

    @Test
    void frechetDistanceOfKnownGaussians() {
        // diagonal covariances: FD = |Δμ|² + Σ (sqrt(a) − sqrt(b))²
        double[] ma = {0, 0};
        double[] mb = {3, 4};
        double[][] sa = {{4, 0}, {0, 1}};
        double[][] sb = {{1, 0}, {0, 9}};
        assertThat(FrechetDistance.of(ma, sa, mb, sb)).isCloseTo(25 + 1 + 4, within(1e-9));
        // non-commuting covariances, against the closed form for 2×2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))
        double[][] sc = {{2, 1}, {1, 2}};
        double[][] sd = {{1, 0}, {0, 3}};
        double[][] r = SymmetricEigen.sqrt(sc);
        double[][] mm = FrechetDistance.multiply(FrechetDistance.multiply(r, sd), r);
        double tr = mm[0][0] + mm[1][1];
        double det = 2 * 3 * 1 - 0; // det(Σc)·det(Σd) = 3·3
        det = 3 * 3;
        double expect = 4 + 4 - 2 * Math.sqrt(tr + 2 * Math.sqrt(det));
        assertThat(FrechetDistance.of(ma, sc, ma, sd)).isCloseTo(expect, within(1e-9));
        // a set against itself is 0
        SplittableRandom rnd = new SplittableRandom(3);
        double[][] f = new double[50][6];
        for (double[] row : f) {
            for (int j = 0; j < 6; j++) {
                row[j] = rnd.nextGaussian() * (j + 1);
            }
        }
        assertThat(FrechetDistance.between(f, f)).isCloseTo(0, within(1e-8));
    }

    @Test
    void classifierAccuracyAndFeatures() {
        // 2 pixels, 2 hidden units = ReLU(±x0), 2 classes: class 1 if x0 > 0
        DigitClassifier c = new DigitClassifier(new float[] {1, 0, -1, 0}, new float[] {0, 0},
                new float[] {0, 1, 1, 0}, new float[] {0, 0}, 2, 2, 2);
        Tensor imgs = Tensor.ofFloats(new float[] {0.5f, 0, -0.5f, 0, 0.9f, 0, -0.1f, 0}, 4, 2);
        assertThat(c.accuracy(imgs, new long[] {1, 0, 1, 1})).isEqualTo(0.75);
        assertThat(c.features(new float[] {-0.5f, 0})).containsExactly(0, 0.5);
    }
}
