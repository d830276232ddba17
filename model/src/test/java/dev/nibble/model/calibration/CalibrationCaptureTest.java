package dev.nibble.model.calibration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Tensor;
import dev.nibble.api.method.Calibration;
import dev.nibble.model.dit.HostBackend;
import org.junit.jupiter.api.Test;

class CalibrationCaptureTest {
    @Test
    void keepsAtMostMaxRowsPerLayerAndStepDrawnFromTheInputs() {
        CalibrationCapture cap = new CalibrationCapture(5, 1);
        try (HostBackend be = new HostBackend()) {
            for (int call = 0; call < 4; call++) {
                float[] v = new float[3 * 4 * 2];
                for (int i = 0; i < v.length; i++) {
                    v[i] = call * 1000 + i;
                }
                try (var d = be.upload(Tensor.ofFloats(v, 3, 4, 2))) {
                    cap.onInput("a", call % 2, d, be);
                }
            }
            try (var d = be.upload(Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3))) {
                cap.onInput("b", 7, d, be);
            }
        }
        Calibration c = cap.toCalibration();
        assertThat(c.steps()).containsExactly(0, 1, 7);
        Tensor a0 = c.layer("a").orElseThrow().inputs(0).orElseThrow();
        assertThat(a0.shape().dims()).containsExactly(5, 2);
        float[] rows = a0.toFloatArray();
        for (int r = 0; r < 5; r++) {
            // every kept row is a real input row of step 0 (calls 0 and 2): even first element, consecutive pair
            assertThat(rows[2 * r + 1] - rows[2 * r]).isEqualTo(1f);
            int call = (int) rows[2 * r] / 1000;
            assertThat(call).isIn(0, 2);
        }
        assertThat(c.layer("b").orElseThrow().inputs(7).orElseThrow().toFloatArray()).containsExactly(1, 2, 3);
        assertThat(c.layer("zzz")).isEmpty();
    }
}
