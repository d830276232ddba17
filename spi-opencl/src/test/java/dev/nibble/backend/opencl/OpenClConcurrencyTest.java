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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One prepared layer driven from several threads gives every thread the single-threaded answer. */
class OpenClConcurrencyTest {
    @Test
    void concurrentForwardsAgree() throws Exception {
        OpenClBackend b = ClTestSupport.backend();
        Random r = new Random(4);
        int k = 128;
        int n = 48;
        QuantizedLinear plan = QuantizedLinear.builder("concurrent", k, n).rotation(new Rotation.RegularHadamard(64))
                .weight(Quantizer.quantize(ClTestSupport.random(r, 0.3f, n, k), QuantScheme.symmetricGroup(4, 64)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 64))).build();
        Tensor[] xs = new Tensor[4];
        float[][] want = new float[4][];
        try (PreparedLinear pl = b.prepare(plan)) {
            for (int i = 0; i < xs.length; i++) {
                xs[i] = ClTestSupport.random(r, 1f, 5, k);
                try (DeviceTensor dx = b.upload(xs[i]); DeviceTensor y = pl.forward(dx)) {
                    want[i] = b.download(y).toFloatArray();
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Boolean>> fs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int which = t % xs.length;
                    fs.add(pool.submit(() -> {
                        for (int rep = 0; rep < 25; rep++) {
                            try (DeviceTensor dx = b.upload(xs[which]); DeviceTensor y = pl.forward(dx)) {
                                if (!java.util.Arrays.equals(b.download(y).toFloatArray(), want[which])) {
                                    return false;
                                }
                            }
                        }
                        return true;
                    }));
                }
                for (Future<Boolean> f : fs) {
                    assertThat(f.get()).isTrue();
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
