package dev.nibble.methods.core;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Calibration rows of one layer as float arrays, subsampled evenly to a row budget. */
public final class CalibrationRows {
    private CalibrationRows() {
    }

    /** Rows of one step: {@code [rows, k]}. */
    public record Rows(float[] x, int rows, int k) {
    }

    /**
     * @param layer the layer
     * @param calibration the calibration
     * @param method the method id (for the message)
     * @return the layer's calibration
     * @throws InvalidInputException naming the layer if it has none
     */
    public static Calibration.LayerCalibration require(LinearLayer layer, Calibration calibration, String method) {
        Optional<Calibration.LayerCalibration> lc = calibration.layer(layer.name());
        if (lc.isEmpty() || lc.get().inputsByStep().isEmpty()) {
            throw new InvalidInputException("method '" + method + "' needs calibration activations for layer '"
                    + layer.name() + "' and none were captured");
        }
        check(layer, lc.get());
        return lc.get();
    }

    /**
     * @param layer the layer
     * @param calibration the calibration
     * @return its calibration if any (checked against K)
     */
    public static Optional<Calibration.LayerCalibration> find(LinearLayer layer, Calibration calibration) {
        Optional<Calibration.LayerCalibration> lc = calibration.layer(layer.name());
        if (lc.isPresent() && lc.get().inputsByStep().isEmpty()) {
            return Optional.empty();
        }
        lc.ifPresent(c -> check(layer, c));
        return lc;
    }

    private static void check(LinearLayer layer, Calibration.LayerCalibration lc) {
        for (var e : lc.inputsByStep().entrySet()) {
            if (e.getValue().shape().cols() != layer.inFeatures()) {
                throw new InvalidInputException("calibration of layer '" + layer.name() + "' at step " + e.getKey()
                        + " has rows of " + e.getValue().shape().cols() + ", the layer takes K=" + layer.inFeatures());
            }
        }
    }

    /**
     * @param lc a layer's calibration
     * @param maxRowsPerStep row budget per step (evenly spaced rows are kept)
     * @return the rows of each step, by step ascending
     */
    public static Map<Integer, Rows> byStep(Calibration.LayerCalibration lc, int maxRowsPerStep) {
        Map<Integer, Rows> out = new LinkedHashMap<>();
        lc.inputsByStep().keySet().stream().sorted().forEach(s -> out.put(s, subsample(lc.inputsByStep().get(s), maxRowsPerStep)));
        return out;
    }

    /**
     * @param lc a layer's calibration
     * @param maxRows row budget over all steps
     * @return rows of every step, stacked, evenly subsampled per step
     */
    public static Rows all(Calibration.LayerCalibration lc, int maxRows) {
        int steps = lc.inputsByStep().size();
        int per = Math.max(1, maxRows / steps);
        List<Rows> parts = new ArrayList<>(byStep(lc, per).values());
        int k = parts.getFirst().k();
        int rows = parts.stream().mapToInt(Rows::rows).sum();
        float[] x = new float[rows * k];
        int off = 0;
        for (Rows p : parts) {
            System.arraycopy(p.x(), 0, x, off, p.x().length);
            off += p.x().length;
        }
        return new Rows(x, rows, k);
    }

    /**
     * @param t F32 {@code [rows, k]}
     * @param maxRows row budget
     * @return at most maxRows evenly spaced rows
     */
    public static Rows subsample(Tensor t, int maxRows) {
        int rows = Math.toIntExact(t.shape().rows());
        int k = Math.toIntExact(t.shape().cols());
        float[] a = t.toFloatArray();
        if (rows <= maxRows) {
            return new Rows(a, rows, k);
        }
        float[] x = new float[maxRows * k];
        for (int i = 0; i < maxRows; i++) {
            int src = (int) ((long) i * rows / maxRows);
            System.arraycopy(a, src * k, x, i * k, k);
        }
        return new Rows(x, maxRows, k);
    }

    /**
     * @param rows rows of one layer
     * @return max |x| per input channel
     */
    public static float[] channelAbsMax(Rows rows) {
        float[] m = new float[rows.k()];
        float[] x = rows.x();
        for (int i = 0; i < x.length; i++) {
            int c = i % rows.k();
            m[c] = Math.max(m[c], Math.abs(x[i]));
        }
        return m;
    }
}
