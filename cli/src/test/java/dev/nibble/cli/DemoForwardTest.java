package dev.nibble.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.model.demo.DemoModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `nibble forward` on the bundled demo DiT, on the CPU backend, against PyTorch's outputs. */
class DemoForwardTest {
    @TempDir
    Path dir;

    @Test
    void cpuBackendForwardMatchesPyTorch() {
        Path io = DemoModel.file(DemoModel.REFERENCE_IO);
        Path out = dir.resolve("eps.safetensors");
        var r = ModelCommandsTest.nibble("forward", "--inputs", io.toString(), "--model", DemoModel.file(DemoModel.DIT).toString(),
                "--out", out.toString(), "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        try (SafetensorsFile a = SafetensorsFile.open(out); SafetensorsFile b = SafetensorsFile.open(io)) {
            float[] got = a.tensor("eps").toFloatArray();
            float[] want = b.tensor("eps").to(DType.F32).toFloatArray();
            assertThat(got).hasSameSizeAs(want);
            double maxErr = 0;
            double maxAbs = 0;
            for (int i = 0; i < want.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
                maxAbs = Math.max(maxAbs, Math.abs(want[i]));
            }
            assertThat(maxErr / maxAbs).as("max |java - pytorch| / max |pytorch|").isLessThan(1e-4);
        }
    }
}
