package dev.nibble.model.diffusion;

import dev.nibble.api.Tensor;
import java.util.SplittableRandom;

/**
 * Deterministic DDIM sampling (eta = 0) with classifier-free guidance. Each image's starting noise
 * comes from its own generator seeded by {@code (seed, index)}, so results do not depend on the
 * batch size. Guidance runs the conditional and the null-class halves in one batch:
 * {@code eps = eps_null + cfg·(eps_cond − eps_null)} (cfg = 1 skips the null half).
 */
public final class DdimSampler {
    private final DdpmSchedule schedule;
    private final int steps;
    private final double cfg;
    private final int nullClass;
    private final boolean clipX0;

    /**
     * @param schedule the training schedule
     * @param steps sampling steps
     * @param cfg guidance scale (1: no guidance)
     * @param nullClass the label of the null class (num_classes)
     * @param clipX0 clamp the predicted clean image to [-1, 1] at every step
     */
    public DdimSampler(DdpmSchedule schedule, int steps, double cfg, int nullClass, boolean clipX0) {
        this.schedule = schedule;
        this.steps = steps;
        this.cfg = cfg;
        this.nullClass = nullClass;
        this.clipX0 = clipX0;
        schedule.samplingTimesteps(steps);
        if (!(cfg >= 0)) {
            throw new IllegalArgumentException("cfg must be >= 0, got " + cfg);
        }
    }

    /** @return the number of sampling steps */
    public int steps() {
        return steps;
    }

    /**
     * @param seed the run's seed
     * @param index the image's index in the run
     * @param size C·H·W
     * @return standard normal noise for that image
     */
    public static float[] noise(long seed, long index, int size) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 1);
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /**
     * Samples one batch.
     *
     * @param model the noise predictor
     * @param labels a class per image
     * @param seed the run's seed
     * @param firstIndex the index of the first image in the run (seeds its noise)
     * @param c channels
     * @param hw image side
     * @param progress told after each step (may be null)
     * @return F32 {@code [B, C, H, W]}, roughly in [-1, 1]
     */
    public Tensor sample(NoiseModel model, long[] labels, long seed, long firstIndex, int c, int hw,
            java.util.function.IntConsumer progress) {
        int b = labels.length;
        int size = c * hw * hw;
        float[] x = new float[b * size];
        for (int n = 0; n < b; n++) {
            System.arraycopy(noise(seed, firstIndex + n, size), 0, x, n * size, size);
        }
        return run(model, labels, x, c, hw, progress);
    }

    /**
     * Samples from given starting noise.
     *
     * @param model the noise predictor
     * @param labels a class per image
     * @param start the initial noise, B·C·H·W values
     * @param c channels
     * @param hw image side
     * @param progress told after each step (may be null)
     * @return F32 {@code [B, C, H, W]}
     */
    public Tensor run(NoiseModel model, long[] labels, float[] start, int c, int hw, java.util.function.IntConsumer progress) {
        int b = labels.length;
        int size = c * hw * hw;
        float[] x = start.clone();
        boolean guided = cfg != 1.0;
        int[] ts = schedule.samplingTimesteps(steps);
        for (int i = 0; i < steps; i++) {
            int t = ts[i];
            int bb = guided ? 2 * b : b;
            float[] in = new float[bb * size];
            long[] tt = new long[bb];
            long[] yy = new long[bb];
            for (int n = 0; n < bb; n++) {
                System.arraycopy(x, (n % b) * size, in, n * size, size);
                tt[n] = t;
                yy[n] = n < b ? labels[n] : nullClass;
            }
            float[] out = model.predict(Tensor.ofFloats(in, bb, c, hw, hw), tt, yy, i).toFloatArray();
            int outPer = out.length / bb;
            double ab = schedule.alphaBar(t);
            double abPrev = i + 1 < steps ? schedule.alphaBar(ts[i + 1]) : 1.0;
            for (int n = 0; n < b; n++) {
                for (int j = 0; j < size; j++) {
                    double eps = out[n * outPer + j];
                    if (guided) {
                        double u = out[(n + b) * outPer + j];
                        eps = u + cfg * (eps - u);
                    }
                    double xt = x[n * size + j];
                    double x0 = (xt - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
                    if (clipX0) {
                        x0 = Math.max(-1, Math.min(1, x0));
                        eps = (xt - Math.sqrt(ab) * x0) / Math.sqrt(1 - ab);
                    }
                    x[n * size + j] = (float) (Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev) * eps);
                }
            }
            if (progress != null) {
                progress.accept(i + 1);
            }
        }
        return Tensor.ofFloats(x, b, c, hw, hw);
    }
}
