package dev.nibble.methods.quality;

import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.ProgressListener;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Section 2 of the report: four DiT block layers (qkv, proj, fc1, fc2 — fc2's input after GELU) with
 * synthetic activations captured at {@link #STEPS} sampling steps whose magnitude changes with the
 * step, one calibration draw and one held-out evaluation draw of the same channel structure.
 */
final class LayerSuite {
    static final int STEPS = 4;
    static final int ROWS_PER_STEP = 64;

    final List<LinearLayer> layers = new ArrayList<>();
    final Calibration calibration;
    final Map<String, Map<Integer, float[]>> eval = new HashMap<>();

    LayerSuite(boolean rowOutliers, int hidden) {
        Map<String, Calibration.LayerCalibration> cal = new LinkedHashMap<>();
        Object[][] spec = {
            {"blocks.0.attn.qkv", LayerRole.ATTENTION_QKV, hidden, 3 * hidden},
            {"blocks.0.attn.proj", LayerRole.ATTENTION_PROJ, hidden, hidden},
            {"blocks.0.mlp.fc1", LayerRole.MLP_FC1, hidden, 2 * hidden},
            {"blocks.0.mlp.fc2", LayerRole.MLP_FC2, 2 * hidden, hidden},
        };
        int li = 0;
        for (Object[] s : spec) {
            String name = (String) s[0];
            LayerRole role = (LayerRole) s[1];
            int k = (int) s[2];
            int n = (int) s[3];
            li++;
            float[] w = SyntheticActivations.weight(n, k, 1000 + li);
            float[] b = new float[n];
            for (int i = 0; i < n; i++) {
                b[i] = 0.01f * ((i % 7) - 3);
            }
            layers.add(new LinearLayer(name, role, Tensor.ofFloats(w, n, k), Tensor.ofFloats(b, n)));
            Map<Integer, Tensor> byStep = new HashMap<>();
            Map<Integer, float[]> ev = new HashMap<>();
            for (int t = 0; t < STEPS; t++) {
                float scale = 0.5f + 0.5f * t; // activation magnitude drifts with the timestep
                float[] xc = SyntheticActivations.dit(ROWS_PER_STEP, k, rowOutliers, 77 + li, 10 * li + t).generate(scale);
                float[] xe = SyntheticActivations.dit(ROWS_PER_STEP, k, rowOutliers, 77 + li, 5000 + 10 * li + t).generate(scale);
                if (role == LayerRole.MLP_FC2) {
                    SyntheticActivations.gelu(xc);
                    SyntheticActivations.gelu(xe);
                }
                byStep.put(t, Tensor.ofFloats(xc, ROWS_PER_STEP, k));
                ev.put(t, xe);
            }
            cal.put(name, new Calibration.LayerCalibration(byStep));
            eval.put(name, ev);
        }
        List<Integer> steps = new ArrayList<>();
        for (int t = 0; t < STEPS; t++) {
            steps.add(t);
        }
        calibration = Calibration.of(steps, cal);
    }

    /** @return the plans of a method over the suite */
    List<QuantizedLinear> quantize(QuantMethod m, MethodOptions o) {
        return m.quantizeAll(layers, calibration, o, ProgressListener.NONE);
    }

    /**
     * @param plans plans in layer order (only layers that were quantized)
     * @return output SQNR (dB) per layer name, over every step of the held-out draw
     */
    Map<String, Double> sqnr(List<QuantizedLinear> plans) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (QuantizedLinear p : plans) {
            LinearLayer l = layers.stream().filter(x -> x.name().equals(p.name())).findFirst().orElseThrow();
            PlanSimulator sim = new PlanSimulator(p);
            double sig = 0;
            double err = 0;
            for (int t = 0; t < STEPS; t++) {
                float[] x = eval.get(l.name()).get(t);
                float[] ref = PlanSimulator.reference(l, x, ROWS_PER_STEP);
                sig += Mat.energy(ref);
                err += Mat.sqDist(ref, sim.forward(x, ROWS_PER_STEP, t));
            }
            out.put(l.name(), 10 * Math.log10(sig / err));
        }
        return out;
    }

    /** @return the sum over layers of the held-out relative output error */
    double sumNmse(List<QuantizedLinear> plans) {
        return sqnr(plans).values().stream().mapToDouble(db -> Math.pow(10, -db / 10)).sum();
    }

    /** @return the mean of the per-layer SQNRs (dB) */
    double meanSqnr(List<QuantizedLinear> plans) {
        return sqnr(plans).values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }
}
