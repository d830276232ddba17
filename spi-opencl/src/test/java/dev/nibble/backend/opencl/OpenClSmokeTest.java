package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.Tensor;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.DeviceTensor;
import org.junit.jupiter.api.Test;

class OpenClSmokeTest {
    @Test
    void probeListsDevicesOrSaysWhy() {
        BackendProbe p = ClTestSupport.probe();
        System.out.println(p);
        if (p.available()) {
            assertThat(p.devices()).allSatisfy(d -> assertThat(d.id()).matches("opencl:\\d+:\\d+"));
        } else {
            assertThat(p.reason()).isNotEmpty();
            assertThat(p.remedy()).contains("pocl-opencl-icd");
        }
    }

    @Test
    void roundTrip() {
        OpenClBackend b = ClTestSupport.backend();
        Tensor t = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        try (DeviceTensor d = b.upload(t); DeviceTensor s = b.add(d, d)) {
            assertThat(b.download(s).toFloatArray()).containsExactly(2, 4, 6, 8, 10, 12);
        }
        System.out.println(b.device());
    }
}
