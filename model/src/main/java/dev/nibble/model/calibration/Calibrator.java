package dev.nibble.model.calibration;

import dev.nibble.api.method.Calibration;
import dev.nibble.model.diffusion.DdimSampler;
import dev.nibble.model.dit.DitRunner;

/** Runs the full-precision sampler with a {@link CalibrationCapture} attached and returns what it saw. */
public final class Calibrator {
    private Calibrator() {
    }

    /**
     * @param runner the full-precision model on a backend
     * @param sampler the sampler whose steps the calibration follows (step i = sampler step i)
     * @param samples images to generate (labels cycle through the classes)
     * @param batch images per forward batch
     * @param maxRows rows kept per (layer, step)
     * @param seed noise and row-sampling seed
     * @param progress told after each batch (done images, total)
     * @return the captured activations
     */
    public static Calibration run(DitRunner runner, DdimSampler sampler, int samples, int batch, int maxRows, long seed,
            java.util.function.BiConsumer<Integer, Integer> progress) {
        CalibrationCapture cap = new CalibrationCapture(maxRows, seed);
        var c = runner.model().config();
        runner.setHook(cap);
        try {
            for (int done = 0; done < samples; done += batch) {
                int b = Math.min(batch, samples - done);
                long[] labels = new long[b];
                for (int i = 0; i < b; i++) {
                    labels[i] = (done + i) % c.numClasses();
                }
                sampler.sample(runner::forward, labels, seed, done, c.inChannels(), c.inputSize(), null);
                if (progress != null) {
                    progress.accept(done + b, samples);
                }
            }
        } finally {
            runner.setHook(null);
        }
        return cap.toCalibration();
    }
}
