package dev.nibble.methods.core;

import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

/** Small deterministic layers and activations for the tests. */
public final class TestData {
    private TestData() {
    }

    public static float[] gaussian(int n, long seed, double std) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * std);
        }
        return a;
    }

    /** Activations with a few outlier channels. */
    public static float[] activations(int rows, int k, long seed, float outlier) {
        float[] x = gaussian(rows * k, seed, 1);
        for (int r = 0; r < rows; r++) {
            x[r * k + 3 % k] *= outlier;
            x[r * k + (k / 2)] *= outlier;
        }
        return x;
    }

    public static LinearLayer layer(String name, LayerRole role, int n, int k, long seed) {
        float[] w = gaussian(n * k, seed, 1 / Math.sqrt(k));
        float[] b = gaussian(n, seed + 1, 0.1);
        return new LinearLayer(name, role, Tensor.ofFloats(w, n, k), Tensor.ofFloats(b, n));
    }

    /** Calibration with the given rows per step for each layer. */
    public static Calibration calibration(Map<String, Map<Integer, float[]>> rows, int k) {
        Map<String, Calibration.LayerCalibration> m = new HashMap<>();
        java.util.Set<Integer> steps = new java.util.TreeSet<>();
        rows.forEach((name, bySteps) -> {
            Map<Integer, Tensor> t = new HashMap<>();
            bySteps.forEach((s, x) -> {
                t.put(s, Tensor.ofFloats(x, x.length / k, k));
                steps.add(s);
            });
            m.put(name, new Calibration.LayerCalibration(t));
        });
        return Calibration.of(List.copyOf(steps), m);
    }

    /** One calibration step of {@code rows} outlier activations per layer. */
    public static Calibration simple(List<LinearLayer> layers, int rows, float outlier, int steps) {
        Map<String, Calibration.LayerCalibration> m = new HashMap<>();
        for (LinearLayer l : layers) {
            Map<Integer, Tensor> t = new HashMap<>();
            for (int s = 0; s < steps; s++) {
                t.put(s, Tensor.ofFloats(activations(rows, l.inFeatures(), l.name().hashCode() + 31L * s, outlier),
                        rows, l.inFeatures()));
            }
            m.put(l.name(), new Calibration.LayerCalibration(t));
        }
        return Calibration.of(IntStream.range(0, steps).boxed().toList(), m);
    }
}
