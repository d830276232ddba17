package dev.nibble.methods.qdit;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.methods.core.CalibrationRows;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The default fitness: the sum over layers of each layer's relative output error on its
 * calibration rows (or of its relative weight error when the layer has no calibration), each
 * (layer, group size) simulated once and memoized.
 */
public final class LayerErrorFitness implements GroupSizeFitness {
    private final List<LinearLayer> layers;
    private final List<CalibrationRows.Rows> rows;
    private final BiFunction<Integer, Integer, QuantizedLinear> planner;
    private final Map<Long, Double> memo = new HashMap<>();

    /**
     * @param layers the layers in scope
     * @param rows calibration rows per layer (an element may be null: weight error then)
     * @param planner builds the plan of layer i at group size g
     */
    public LayerErrorFitness(List<LinearLayer> layers, List<CalibrationRows.Rows> rows,
            BiFunction<Integer, Integer, QuantizedLinear> planner) {
        this.layers = layers;
        this.rows = rows;
        this.planner = planner;
    }

    /**
     * @param layer layer index
     * @param group group size
     * @return the layer's relative error at that group size
     */
    public double layerError(int layer, int group) {
        return memo.computeIfAbsent(((long) layer << 32) | group, key -> {
            QuantizedLinear plan = planner.apply(layer, group);
            PlanSimulator sim = new PlanSimulator(plan);
            CalibrationRows.Rows r = rows.get(layer);
            if (r == null) {
                return Mat.nmse(layers.get(layer).weight().toFloatArray(), sim.effectiveWeight());
            }
            float[] ref = PlanSimulator.reference(layers.get(layer), r.x(), r.rows());
            return Mat.nmse(ref, sim.forward(r.x(), r.rows(), 0));
        });
    }

    @Override
    public double evaluate(int[] groupSizes) {
        double s = 0;
        for (int i = 0; i < groupSizes.length; i++) {
            s += layerError(i, groupSizes[i]);
        }
        return s;
    }
}
