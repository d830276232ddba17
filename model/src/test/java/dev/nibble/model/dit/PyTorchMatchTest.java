package dev.nibble.model.dit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import dev.nibble.model.demo.DemoModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;

/** The Java forward pass of the bundled demo DiT against PyTorch's outputs on the same inputs. */
class PyTorchMatchTest {
    @Test
    void javaForwardMatchesPyTorchWithin1e4Relative() {
        assertThat(DemoModel.available()).as("the demo model is bundled").isTrue();
        try (DitModel m = DitModel.load(DemoModel.file(DemoModel.DIT));
                SafetensorsFile io = SafetensorsFile.open(DemoModel.file(DemoModel.REFERENCE_IO));
                HostBackend be = new HostBackend(); DitRunner r = new DitRunner(be, m)) {
            Tensor x = io.tensor("x");
            int b = (int) x.shape().dim(0);
            long[] t = new long[b];
            long[] y = new long[b];
            for (int i = 0; i < b; i++) {
                t[i] = io.tensor("t").getLong(i);
                y[i] = io.tensor("y").getLong(i);
            }
            float[] want = io.tensor("eps").to(DType.F32).toFloatArray();
            float[] got = r.forward(x, t, y, 0).toFloatArray();
            assertThat(got).hasSameSizeAs(want);
            double maxErr = 0;
            double maxAbs = 0;
            for (int i = 0; i < want.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
                maxAbs = Math.max(maxAbs, Math.abs(want[i]));
            }
            assertThat(maxAbs).isGreaterThan(0.1);
            assertThat(maxErr / maxAbs).as("max |java - pytorch| / max |pytorch|").isLessThan(1e-4);
        }
    }
}
