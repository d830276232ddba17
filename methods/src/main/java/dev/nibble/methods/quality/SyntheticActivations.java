package dev.nibble.methods.quality;

import java.util.Random;

/**
 * DiT-like synthetic activations for the quality report, built from the three outlier patterns
 * reported for diffusion transformers (ConvRot §3, SVDQuant §3, and the "massive activations" of
 * Sun et al. 2024):
 * <ul>
 *   <li><b>channel outliers</b>: every channel has its own scale (log-normal, σ = 0.5) and a small
 *       mean; {@code channelOutlierFraction} of the channels are {@code channelOutlierScale} times
 *       larger, the same channels in every row (a layer-wide structure, fixed by the structure seed);</li>
 *   <li><b>row-wise offsets</b>: {@code rowOffsetFraction} of the tokens carry one constant
 *       {@code ±rowOffset·U(0.5, 1.5)} added to every channel (a token-wide shift);</li>
 *   <li><b>massive activations</b>: {@code massive} single elements of magnitude
 *       {@code massiveValue·U(0.8, 1.2)} at two fixed channels, in random rows.</li>
 * </ul>
 *
 * @param rows tokens
 * @param k channels
 * @param channelOutlierFraction fraction of outlier channels
 * @param channelOutlierScale their extra scale
 * @param rowOffsetFraction fraction of tokens with an offset
 * @param rowOffset offset magnitude
 * @param massive number of massive single activations
 * @param massiveValue their magnitude
 * @param structureSeed seed of the channel structure (shared by calibration and evaluation)
 * @param seed seed of the samples
 */
public record SyntheticActivations(int rows, int k, double channelOutlierFraction, float channelOutlierScale,
        double rowOffsetFraction, float rowOffset, int massive, float massiveValue, long structureSeed, long seed) {

    /**
     * The report's default mix.
     *
     * @param rows tokens
     * @param k channels
     * @param rowOutliers whether 10% of the tokens carry an offset of about ±8
     * @param structureSeed channel structure seed
     * @param seed sample seed
     * @return the spec
     */
    public static SyntheticActivations dit(int rows, int k, boolean rowOutliers, long structureSeed, long seed) {
        return new SyntheticActivations(rows, k, 0.01, 20f, rowOutliers ? 0.1 : 0, 8f, Math.max(1, rows / 32), 60f,
                structureSeed, seed);
    }

    /**
     * @param scale a factor on every value (e.g. a timestep-dependent magnitude)
     * @return the activations {@code [rows, k]}, row-major
     */
    public float[] generate(float scale) {
        Random st = new Random(structureSeed);
        float[] sigma = new float[k];
        float[] mean = new float[k];
        for (int j = 0; j < k; j++) {
            sigma[j] = (float) Math.exp(0.5 * st.nextGaussian());
            mean[j] = (float) (0.2 * st.nextGaussian());
        }
        int outliers = (int) Math.round(channelOutlierFraction * k);
        for (int i = 0; i < outliers; i++) {
            sigma[st.nextInt(k)] *= channelOutlierScale;
        }
        int massiveA = st.nextInt(k);
        int massiveB = st.nextInt(k);
        Random r = new Random(seed);
        float[] x = new float[rows * k];
        for (int t = 0; t < rows; t++) {
            float offset = 0f;
            if (r.nextDouble() < rowOffsetFraction) {
                offset = (float) ((r.nextBoolean() ? 1 : -1) * rowOffset * (0.5 + r.nextDouble()));
            }
            for (int j = 0; j < k; j++) {
                x[t * k + j] = scale * (float) (mean[j] + sigma[j] * r.nextGaussian() + offset);
            }
        }
        for (int i = 0; i < massive; i++) {
            int t = r.nextInt(rows);
            int j = r.nextBoolean() ? massiveA : massiveB;
            x[t * k + j] = scale * (float) ((r.nextBoolean() ? 1 : -1) * massiveValue * (0.8 + 0.4 * r.nextDouble()));
        }
        return x;
    }

    /**
     * A DiT-like weight: Gaussian with std 1/sqrt(K), a few input columns 4× larger and 0.1% of the
     * entries 6× larger (heavy tails).
     *
     * @param n outputs
     * @param k inputs
     * @param seed seed
     * @return {@code [n, k]}
     */
    public static float[] weight(int n, int k, long seed) {
        Random r = new Random(seed);
        float[] w = new float[n * k];
        float std = (float) (1 / Math.sqrt(k));
        boolean[] heavyCol = new boolean[k];
        for (int i = 0; i < Math.max(1, k / 64); i++) {
            heavyCol[r.nextInt(k)] = true;
        }
        for (int o = 0; o < n; o++) {
            for (int j = 0; j < k; j++) {
                double v = r.nextGaussian() * std * (heavyCol[j] ? 4 : 1);
                if (r.nextDouble() < 0.001) {
                    v *= 6;
                }
                w[o * k + j] = (float) v;
            }
        }
        return w;
    }

    /**
     * @param x values, replaced by GELU(x) (tanh form), as the input of fc2
     */
    public static void gelu(float[] x) {
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            x[i] = (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        }
    }
}
