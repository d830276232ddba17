package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.conformance.reference.RefDit;
import dev.nibble.conformance.reference.RefTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** Layer norm, GELU, SiLU, softmax, modulate, gated add and attention. */
final class DitCases {
    private DitCases() {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        int[][] rowShapes = kit.full
                ? new int[][] {{1, 33}, {5, 384}, {3, 1152}, {256, 384}}
                : new int[][] {{1, 33}, {5, 384}, {3, 1152}};
        for (int[] rd : rowShapes) {
            int rows = rd[0];
            int d = rd[1];
            String shape = " [" + rows + ", " + d + "]";
            t.add(kit.test("layerNorm eps=1e-6" + shape, (s, data) -> {
                float[] x = data.activations(rows, d);
                s.poison(DType.F32, rows, d);
                float[] y = s.floats("layerNorm", kit.backend.layerNorm(s.up(x, rows, d), 1e-6f), rows, d);
                Tolerance.assertClose("layerNorm" + shape, y, RefDit.layerNorm(x, rows, d, 1e-6f));
            }));
            t.add(kit.test("softmax" + shape, (s, data) -> {
                float[] x = data.activations(rows, d);
                s.poison(DType.F32, rows, d);
                float[] y = s.floats("softmax", kit.backend.softmax(s.up(x, rows, d)), rows, d);
                Tolerance.assertClose("softmax" + shape, y, RefDit.softmax(x, rows, d));
            }));
            t.add(kit.test("gelu" + shape, (s, data) -> {
                float[] x = data.activations(rows, d);
                s.poison(DType.F32, rows, d);
                float[] y = s.floats("gelu", kit.backend.gelu(s.up(x, rows, d)), rows, d);
                Tolerance.assertClose("gelu" + shape, y, reshape(RefDit.gelu(x), rows, d));
            }));
            t.add(kit.test("silu" + shape, (s, data) -> {
                float[] x = data.activations(rows, d);
                s.poison(DType.F32, rows, d);
                float[] y = s.floats("silu", kit.backend.silu(s.up(x, rows, d)), rows, d);
                Tolerance.assertClose("silu" + shape, y, reshape(RefDit.silu(x), rows, d));
            }));
        }
        t.add(kit.test("gelu and silu over [-20, 20] (tails)", (s, data) -> {
            float[] x = data.uniform(4096, -20, 20);
            Tolerance.assertClose("gelu", s.floats("gelu", kit.backend.gelu(s.up(x, 4096)), 4096), RefDit.gelu(x));
            Tolerance.assertClose("silu", s.floats("silu", kit.backend.silu(s.up(x, 4096)), 4096), RefDit.silu(x));
        }));
        t.add(kit.test("element-wise ops keep leading dimensions [2, 3, 16]", (s, data) -> {
            float[] x = data.activations(6, 16);
            s.floats("gelu", kit.backend.gelu(s.up(x, 2, 3, 16)), 2, 3, 16);
            s.floats("silu", kit.backend.silu(s.up(x, 2, 3, 16)), 2, 3, 16);
            s.floats("softmax", kit.backend.softmax(s.up(x, 2, 3, 16)), 2, 3, 16);
            s.floats("layerNorm", kit.backend.layerNorm(s.up(x, 2, 3, 16), 1e-6f), 2, 3, 16);
        }));
        int[][] btd = kit.full ? new int[][] {{1, 1, 8}, {2, 5, 48}, {2, 64, 384}, {4, 256, 384}}
                : new int[][] {{1, 1, 8}, {2, 5, 48}, {2, 64, 384}};
        for (int[] v : btd) {
            int b = v[0];
            int tt = v[1];
            int d = v[2];
            String shape = " [" + b + ", " + tt + ", " + d + "]";
            t.add(kit.test("modulate" + shape, (s, data) -> {
                float[] x = data.activations(b * tt, d);
                float[] shift = data.activations(b, d);
                float[] scale = data.uniform(b * d, -1.5, 1.5);
                s.poison(DType.F32, b, tt, d);
                float[] y = s.floats("modulate", kit.backend.modulate(s.up(x, b, tt, d), s.up(shift, b, d), s.up(scale, b, d)), b, tt, d);
                Tolerance.assertClose("modulate" + shape, y, RefDit.modulate(x, shift, scale, b, tt, d));
            }));
            t.add(kit.test("gatedAdd" + shape, (s, data) -> {
                float[] r = data.activations(b * tt, d);
                float[] gate = data.uniform(b * d, -2, 2);
                float[] y = data.activations(b * tt, d);
                s.poison(DType.F32, b, tt, d);
                float[] o = s.floats("gatedAdd", kit.backend.gatedAdd(s.up(r, b, tt, d), s.up(gate, b, d), s.up(y, b, tt, d)), b, tt, d);
                Tolerance.assertClose("gatedAdd" + shape, o, RefDit.gatedAdd(r, gate, y, b, tt, d));
            }));
        }
        int[][] attn = kit.full ? new int[][] {{1, 1, 8, 1}, {2, 17, 64, 4}, {2, 64, 384, 6}, {2, 256, 384, 6}}
                : new int[][] {{1, 1, 8, 1}, {2, 17, 64, 4}, {1, 64, 384, 6}, {1, 33, 96, 3}};
        for (int[] v : attn) {
            int b = v[0];
            int tt = v[1];
            int d = v[2];
            int h = v[3];
            String name = "attention B=" + b + " T=" + tt + " D=" + d + " heads=" + h;
            t.add(kit.test(name, (s, data) -> {
                float[] qkv = data.activations(b * tt, 3 * d);
                for (int i = 0; i < qkv.length; i++) {
                    qkv[i] *= 0.5f; // keep most softmax rows soft; outliers still make some sharp
                }
                s.poison(DType.F32, b, tt, d);
                float[] y = s.floats("attention", kit.backend.attention(s.up(qkv, b, tt, 3 * d), h), b, tt, d);
                Tolerance.assertClose(name, y, RefDit.attention(qkv, b, tt, d, h));
            }));
        }
        t.add(kit.test("DiT ops reject bad shapes", (s, data) -> {
            DeviceTensor qkv = s.up(data.activations(4, 3 * 10), 1, 4, 30);
            assertThatThrownBy(() -> s.keep(kit.backend.attention(qkv, 3))).as("attention: 3 heads do not divide D=10")
                    .isInstanceOf(InvalidInputException.class);
            DeviceTensor notQkv = s.up(data.activations(4, 32), 1, 4, 32);
            assertThatThrownBy(() -> s.keep(kit.backend.attention(notQkv, 2))).as("attention: last dim 32 is not 3·D")
                    .isInstanceOf(InvalidInputException.class);
            DeviceTensor x = s.up(data.activations(6, 8), 2, 3, 8);
            DeviceTensor bad = s.up(data.activations(2, 7), 2, 7);
            DeviceTensor ok = s.up(data.activations(2, 8), 2, 8);
            assertThatThrownBy(() -> s.keep(kit.backend.modulate(x, bad, ok))).as("modulate: shift [2, 7]")
                    .isInstanceOf(InvalidInputException.class);
            assertThatThrownBy(() -> s.keep(kit.backend.gatedAdd(x, bad, x))).as("gatedAdd: gate [2, 7]")
                    .isInstanceOf(InvalidInputException.class);
        }));
        return Stream.of(kit.capability(new Capability.DitOps(), t.stream()));
    }

    private static RefTensor reshape(RefTensor r, int rows, int d) {
        return RefTensor.of(new long[] {rows, d}, r.value(), r.errorScale());
    }
}
