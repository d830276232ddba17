package dev.nibble.api.method;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apiguardian.api.API;

/**
 * Activations captured from the full-precision model: for each linear layer and sampling step, a
 * sample of its input rows. Methods derive the statistics they need (per-channel absmax, min/max,
 * output errors) from these.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public interface Calibration {

    /** @return the sampling steps (indices 0..S-1 of the sampler's schedule) that have data */
    List<Integer> steps();

    /**
     * @param layer a layer name
     * @return its captured inputs, if any
     */
    Optional<LayerCalibration> layer(String layer);

    /** @return a calibration with no data (for methods that need none) */
    static Calibration none() {
        return of(List.of(), Map.of());
    }

    /**
     * @param steps the sampling steps
     * @param layers the inputs per layer
     * @return an in-memory calibration
     */
    static Calibration of(List<Integer> steps, Map<String, LayerCalibration> layers) {
        List<Integer> s = List.copyOf(steps);
        Map<String, LayerCalibration> m = Map.copyOf(layers);
        return new Calibration() {
            @Override
            public List<Integer> steps() {
                return s;
            }

            @Override
            public Optional<LayerCalibration> layer(String layer) {
                return Optional.ofNullable(m.get(layer));
            }
        };
    }

    /**
     * Input rows of one layer.
     *
     * @param inputsByStep F32 {@code [rows, K]} per sampling step
     */
    @API(status = EXPERIMENTAL, since = "0.1")
    record LayerCalibration(Map<Integer, Tensor> inputsByStep) {
        /** Copies the map. */
        public LayerCalibration {
            inputsByStep = Map.copyOf(inputsByStep);
        }

        /**
         * @param step a sampling step
         * @return its input rows, if captured
         */
        public Optional<Tensor> inputs(int step) {
            return Optional.ofNullable(inputsByStep.get(step));
        }

        /** @return the rows of every step stacked into one F32 {@code [rows, K]} tensor */
        public Tensor allInputs() {
            List<Tensor> parts = inputsByStep.keySet().stream().sorted().map(inputsByStep::get).toList();
            if (parts.isEmpty()) {
                throw new IllegalStateException("no calibration inputs");
            }
            long k = parts.getFirst().shape().cols();
            long rows = parts.stream().mapToLong(t -> t.shape().rows()).sum();
            float[] all = new float[Math.toIntExact(rows * k)];
            int off = 0;
            for (Tensor t : parts) {
                float[] a = t.toFloatArray();
                System.arraycopy(a, 0, all, off, a.length);
                off += a.length;
            }
            return Tensor.ofFloats(all, rows, k);
        }

        /** @return max |x| per input channel over every step */
        public float[] channelAbsMax() {
            float[] all = allInputs().toFloatArray();
            int k = Math.toIntExact(inputsByStep.values().iterator().next().shape().cols());
            float[] m = new float[k];
            for (int i = 0; i < all.length; i++) {
                m[i % k] = Math.max(m[i % k], Math.abs(all[i]));
            }
            return m;
        }
    }
}
