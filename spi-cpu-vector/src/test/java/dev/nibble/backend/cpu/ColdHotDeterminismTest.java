package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Quantizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every vector kernel gives the same bits on its first (interpreted) call and after C2 has compiled
 * it: results must not depend on JIT timing, or two runs of the same program disagree.
 */
class ColdHotDeterminismTest {
    @Test
    void eachOperationGivesTheSameBitsColdAndHot() {
        try (KernelBackend b = Fixtures.open("vector")) {
            Random r = new Random(3);
            Tensor x = Fixtures.tensor(r, 2f, 24, 256);
            Tensor w = Fixtures.tensor(r, 0.2f, 64, 256);
            Tensor qkv = Fixtures.tensor(r, 1f, 2, 12, 3 * 64);
            Tensor shift = Fixtures.tensor(r, 0.5f, 2, 64);
            Tensor scale = Fixtures.tensor(r, 0.5f, 2, 64);
            Tensor x3 = Fixtures.tensor(r, 1f, 2, 12, 64);
            QuantizedLinear plan = QuantizedLinear.builder("l", 256, 64).rotation(new Rotation.RegularHadamard(64))
                    .weight(Quantizer.quantize(w, QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                    .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN))).build();
            Map<String, Function<DeviceTensor[], DeviceTensor>> ops = new LinkedHashMap<>();
            ops.put("gelu", a -> b.gelu(a[0]));
            ops.put("silu", a -> b.silu(a[0]));
            ops.put("softmax", a -> b.softmax(a[0]));
            ops.put("layerNorm", a -> b.layerNorm(a[0], 1e-6f));
            ops.put("gemm f32", a -> b.gemm(a[0], a[1]));
            ops.put("rotate", a -> b.rotate(a[0], new Rotation.RegularHadamard(64)));
            ops.put("attention", a -> b.attention(a[2], 4));
            ops.put("modulate", a -> b.modulate(a[3], a[4], a[5]));
            try (PreparedLinear p = b.prepare(plan)) {
                ops.put("prepared w4a4", a -> p.forward(a[0]));
                ops.put("prepared w4a4, BF16 x", a -> p.forward(a[6]));
                DeviceTensor[] in = {b.upload(x), b.upload(w), b.upload(qkv), b.upload(x3), b.upload(shift), b.upload(scale),
                    b.upload(x.to(dev.nibble.api.DType.BF16))};
                Map<String, byte[]> cold = new LinkedHashMap<>();
                ops.forEach((name, op) -> cold.put(name, run(b, op, in)));
                for (int i = 0; i < 400; i++) {
                    ops.forEach((name, op) -> run(b, op, in));
                }
                List<String> differing = ops.keySet().stream()
                        .filter(name -> !java.util.Arrays.equals(cold.get(name), run(b, ops.get(name), in))).toList();
                assertThat(differing).as("operations whose output changed once the JIT compiled them").isEmpty();
            }
        }
    }

    private static byte[] run(KernelBackend b, Function<DeviceTensor[], DeviceTensor> op, DeviceTensor[] in) {
        try (DeviceTensor y = op.apply(in)) {
            return b.download(y).toByteArray();
        }
    }
}
