package dev.nibble.backend.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Quantizer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every buffer is released: 10,000 prepare/forward/close cycles leave device memory where it started. */
class OpenClResourceTest {

    @Test
    void tenThousandPrepareForwardCloseCyclesLeakNothing() {
        OpenClBackend b = ClTestSupport.backend();
        Random r = new Random(1);
        int k = 32;
        int n = 16;
        Rotation rot = new Rotation.RegularHadamard(16);
        QuantizedLinear plan = QuantizedLinear.builder("small", k, n).rotation(rot)
                .weight(Quantizer.quantize(ClTestSupport.random(r, 0.3f, n, k), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)))
                .bias(ClTestSupport.random(r, 1f, n)).build();
        Tensor x = ClTestSupport.random(r, 1f, 4, k);
        float[] first;
        try (DeviceTensor dx = b.upload(x)) {
            assertThat(((ClTensor) dx).referenceCount()).isEqualTo(1);
            try (PreparedLinear pl = b.prepare(plan); DeviceTensor y = pl.forward(dx)) {
                first = b.download(y).toFloatArray();
            }
            long bytes = b.allocatedBytes();
            int buffers = b.liveBuffers();
            long peak = 0;
            for (int i = 0; i < 10_000; i++) {
                try (PreparedLinear pl = b.prepare(plan); DeviceTensor y = pl.forward(dx)) {
                    peak = Math.max(peak, b.allocatedBytes());
                    if (i % 2500 == 0) {
                        assertThat(b.download(y).toFloatArray()).containsExactly(first);
                    }
                }
            }
            b.finish();
            assertThat(b.allocatedBytes()).as("bytes held after 10,000 cycles").isEqualTo(bytes);
            assertThat(b.liveBuffers()).as("buffers alive after 10,000 cycles").isEqualTo(buffers);
            assertThat(peak).isGreaterThan(bytes);
            assertThat(((ClTensor) dx).referenceCount()).isEqualTo(1);
        }
    }

    @Test
    void closingTheBackendReleasesEverything() {
        ClTestSupport.backend(); // skips without a device
        var probe = ClTestSupport.probe();
        OpenClBackend b = (OpenClBackend) new OpenClBackendProvider().open(probe.devices().getFirst(), java.util.Map.of());
        DeviceTensor t = b.upload(Tensor.ofFloats(new float[] {1, 2, 3}, 3));
        assertThat(b.liveBuffers()).isGreaterThan(1);
        b.close();
        assertThat(b.liveBuffers()).isZero();
        assertThat(b.allocatedBytes()).isZero();
        t.close(); // idempotent after the backend released it
        b.close();
    }
}
