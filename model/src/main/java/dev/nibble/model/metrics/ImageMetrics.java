package dev.nibble.model.metrics;

/**
 * Similarity of two images of the same shape, values in [-1, 1] (data range 2). SSIM uses a
 * 7×7 Gaussian window (σ = 1.5) over the valid region, a size suited to 16×16 images (the
 * usual 11×11 would leave a 6×6 map), with the standard K1 = 0.01, K2 = 0.03, per channel.
 */
public final class ImageMetrics {
    /** Data range of images in [-1, 1]. */
    public static final double DATA_RANGE = 2.0;
    private static final int WIN = 7;
    private static final double[] KERNEL = gaussian(WIN, 1.5);

    private ImageMetrics() {
    }

    /**
     * @param a an image, flattened
     * @param b another of the same length
     * @return the peak signal-to-noise ratio in dB over data range 2 (+∞ for identical images)
     */
    public static double psnr(float[] a, float[] b) {
        check(a, b);
        double mse = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            mse += d * d;
        }
        mse /= a.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(DATA_RANGE * DATA_RANGE / mse);
    }

    /**
     * @param a an image {@code [C, H, W]} flattened
     * @param b another
     * @param channels C
     * @param h H
     * @param w W
     * @return mean SSIM over channels and window positions
     */
    public static double ssim(float[] a, float[] b, int channels, int h, int w) {
        check(a, b);
        if (a.length != channels * h * w || h < WIN || w < WIN) {
            throw new IllegalArgumentException("SSIM needs images of at least " + WIN + "x" + WIN + " matching [C, H, W]");
        }
        double c1 = Math.pow(0.01 * DATA_RANGE, 2);
        double c2 = Math.pow(0.03 * DATA_RANGE, 2);
        double total = 0;
        int count = 0;
        for (int ch = 0; ch < channels; ch++) {
            int off = ch * h * w;
            for (int y = 0; y + WIN <= h; y++) {
                for (int x = 0; x + WIN <= w; x++) {
                    double ma = 0;
                    double mb = 0;
                    double saa = 0;
                    double sbb = 0;
                    double sab = 0;
                    for (int i = 0; i < WIN; i++) {
                        for (int j = 0; j < WIN; j++) {
                            double k = KERNEL[i] * KERNEL[j];
                            double va = a[off + (y + i) * w + x + j];
                            double vb = b[off + (y + i) * w + x + j];
                            ma += k * va;
                            mb += k * vb;
                            saa += k * va * va;
                            sbb += k * vb * vb;
                            sab += k * va * vb;
                        }
                    }
                    double va = saa - ma * ma;
                    double vb = sbb - mb * mb;
                    double cov = sab - ma * mb;
                    total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                    count++;
                }
            }
        }
        return total / count;
    }

    private static double[] gaussian(int n, double sigma) {
        double[] k = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double x = i - (n - 1) / 2.0;
            k[i] = Math.exp(-x * x / (2 * sigma * sigma));
            sum += k[i];
        }
        for (int i = 0; i < n; i++) {
            k[i] /= sum;
        }
        return k;
    }

    private static void check(float[] a, float[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("images differ in size: " + a.length + " vs " + b.length);
        }
    }
}
