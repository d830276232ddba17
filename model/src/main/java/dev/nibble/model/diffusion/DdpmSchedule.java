package dev.nibble.model.diffusion;

/**
 * The DDPM noise schedule: linear betas from {@code betaStart} to {@code betaEnd} over
 * {@code steps} training timesteps, in float64 (as DiT's gaussian_diffusion computes it).
 */
public final class DdpmSchedule {
    private final double[] alphasCumprod;

    /**
     * @param betaStart first beta
     * @param betaEnd last beta
     * @param steps training timesteps
     */
    public DdpmSchedule(double betaStart, double betaEnd, int steps) {
        if (steps < 2 || !(betaStart > 0) || !(betaEnd < 1) || betaEnd < betaStart) {
            throw new IllegalArgumentException("need 0 < betaStart <= betaEnd < 1 and at least 2 steps");
        }
        alphasCumprod = new double[steps];
        double prod = 1;
        for (int i = 0; i < steps; i++) {
            double beta = betaStart + (betaEnd - betaStart) * i / (steps - 1);
            prod *= 1 - beta;
            alphasCumprod[i] = prod;
        }
    }

    /** @return the demo model's schedule: linear 1e-4 .. 0.02 over 1000 steps */
    public static DdpmSchedule linear1000() {
        return new DdpmSchedule(1e-4, 0.02, 1000);
    }

    /** @return training timesteps */
    public int steps() {
        return alphasCumprod.length;
    }

    /**
     * @param t a timestep
     * @return ᾱ_t
     */
    public double alphaBar(int t) {
        return alphasCumprod[t];
    }

    /**
     * The timesteps a sampler with {@code n} steps visits, highest first: {@code floor(i·T/n)}
     * for i = n-1 .. 0 (DDIM's uniform skipping; the last step is t = 0).
     *
     * @param n sampling steps, 1..T
     * @return the timesteps in the order they are visited
     */
    public int[] samplingTimesteps(int n) {
        if (n < 1 || n > steps()) {
            throw new IllegalArgumentException("sampling steps must be in [1, " + steps() + "], got " + n);
        }
        int[] ts = new int[n];
        for (int i = 0; i < n; i++) {
            ts[n - 1 - i] = (int) ((long) i * steps() / n);
        }
        return ts;
    }
}
