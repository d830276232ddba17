package dev.nibble.model.calibration;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.method.Calibration;
import dev.nibble.model.dit.LinearInputHook;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Records each linear layer's input rows per sampling step while a {@link dev.nibble.model.dit.DitRunner}
 * runs: a uniform sample (reservoir sampling, seeded) of at most {@code maxRows} rows per
 * (layer, step), so memory stays bounded however many images are sampled.
 */
public final class CalibrationCapture implements LinearInputHook {
    private final int maxRows;
    private final SplittableRandom random;
    private final Map<String, Map<Integer, Reservoir>> data = new LinkedHashMap<>();

    /**
     * @param maxRows rows kept per (layer, step)
     * @param seed seed of the row sampling
     */
    public CalibrationCapture(int maxRows, long seed) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1");
        }
        this.maxRows = maxRows;
        this.random = new SplittableRandom(seed);
    }

    private static final class Reservoir {
        final int k;
        final float[][] rows;
        long seen;
        int filled;

        Reservoir(int cap, int k) {
            this.k = k;
            this.rows = new float[cap][];
        }
    }

    @Override
    public synchronized void onInput(String layer, int step, DeviceTensor input, KernelBackend backend) {
        Tensor host = backend.download(input);
        int k = Math.toIntExact(host.shape().cols());
        int n = Math.toIntExact(host.shape().rows());
        float[] v = host.toFloatArray();
        Reservoir r = data.computeIfAbsent(layer, x -> new HashMap<>()).computeIfAbsent(step, s -> new Reservoir(maxRows, k));
        for (int i = 0; i < n; i++) {
            long idx = r.seen++;
            int slot;
            if (r.filled < maxRows) {
                slot = r.filled++;
            } else {
                long j = random.nextLong(idx + 1);
                if (j >= maxRows) {
                    continue;
                }
                slot = (int) j;
            }
            float[] row = new float[k];
            System.arraycopy(v, i * k, row, 0, k);
            r.rows[slot] = row;
        }
    }

    /** @return the captured rows as an api {@link Calibration} */
    public synchronized Calibration toCalibration() {
        TreeSet<Integer> steps = new TreeSet<>();
        Map<String, Calibration.LayerCalibration> layers = new LinkedHashMap<>();
        for (var e : data.entrySet()) {
            Map<Integer, Tensor> byStep = new HashMap<>();
            for (var s : e.getValue().entrySet()) {
                Reservoir r = s.getValue();
                float[] all = new float[r.filled * r.k];
                for (int i = 0; i < r.filled; i++) {
                    System.arraycopy(r.rows[i], 0, all, i * r.k, r.k);
                }
                byStep.put(s.getKey(), Tensor.ofFloats(all, r.filled, r.k));
                steps.add(s.getKey());
            }
            layers.put(e.getKey(), new Calibration.LayerCalibration(byStep));
        }
        return Calibration.of(java.util.List.copyOf(steps), layers);
    }
}
