package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.conformance.reference.RefQuantized;
import dev.nibble.conformance.reference.RefQuantizer;
import dev.nibble.conformance.reference.RefTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** {@code quantize}, {@code quantizeStatic} and {@code dequantize}: codes bit-identical. */
final class QuantizeCases {
    private QuantizeCases() {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        return Stream.of(integer(kit, 4), integer(kit, 8), nf4(kit));
    }

    static List<QuantScheme> schemes(int bits) {
        return List.of(
                QuantScheme.symmetric(bits, Granularity.PER_TOKEN),
                QuantScheme.symmetric(bits, Granularity.PER_CHANNEL),
                QuantScheme.symmetric(bits, Granularity.PER_TENSOR),
                QuantScheme.symmetricGroup(bits, 32),
                QuantScheme.symmetricGroup(bits, 64),
                QuantScheme.symmetricGroup(bits, 128),
                QuantScheme.symmetric(bits, Granularity.PER_TOKEN).withNarrowRange(),
                QuantScheme.symmetricGroup(bits, 64).withClipRatio(0.9f),
                QuantScheme.affine(bits, Granularity.PER_TOKEN, 0),
                QuantScheme.affine(bits, Granularity.PER_GROUP, 64),
                QuantScheme.affine(bits, Granularity.PER_TENSOR, 0),
                new QuantScheme(QuantScheme.Format.INT, bits, true, false, Granularity.PER_GROUP, 32, false, 1f, true),
                new QuantScheme(QuantScheme.Format.INT, bits, false, true, Granularity.PER_TOKEN, 0, false, 1f, true));
    }

    static int[][] shapes(Kit kit) {
        return kit.full
                ? new int[][] {{1, 64}, {5, 33}, {7, 200}, {16, 256}, {3, 1152}, {64, 1000}, {128, 3072}}
                : new int[][] {{1, 64}, {5, 33}, {7, 200}, {16, 256}, {3, 1152}};
    }

    private static DynamicNode integer(Kit kit, int bits) {
        List<DynamicNode> t = new ArrayList<>();
        for (QuantScheme scheme : schemes(bits)) {
            for (int[] mk : shapes(kit)) {
                t.add(quantizeTest(kit, scheme, mk[0], mk[1]));
            }
            t.add(kit.test("quantize " + scheme.describe() + " [2, 3, 40] (3-d input)", (s, data) -> {
                float[] x = data.activations(6, 40);
                data.plantTies(x, 6, 40, scheme);
                DeviceQuantized q = s.keep(kit.backend.quantize(s.up(x, 2, 3, 40), scheme));
                compare(kit, "quantize " + scheme.describe() + " [2,3,40]", q, RefQuantizer.quantize(x, 6, 40, scheme));
            }));
            t.add(kit.test("dequantize " + scheme.describe() + " [7, 200]", (s, data) -> {
                float[] x = data.activations(7, 200);
                RefQuantized ref = RefQuantizer.quantize(x, 7, 200, scheme);
                s.poison(DType.F32, 7, 200);
                float[] y = s.floats("dequantize", kit.backend.dequantize(s.up(ref.toQuantizedTensor())), 7, 200);
                Tolerance.assertClose("dequantize " + scheme.describe(), y, dequantized(ref));
            }));
        }
        for (QuantScheme scheme : List.of(QuantScheme.symmetric(bits, Granularity.PER_TENSOR).asStatic(),
                QuantScheme.affine(bits, Granularity.PER_TENSOR, 0).asStatic(),
                QuantScheme.symmetric(bits, Granularity.PER_TENSOR).withNarrowRange().asStatic())) {
            for (int[] mk : new int[][] {{1, 64}, {5, 33}, {16, 200}}) {
                int m = mk[0];
                int k = mk[1];
                String name = "quantizeStatic " + scheme.describe() + " [" + m + ", " + k + "]";
                t.add(kit.test(name, (s, data) -> {
                    float[] x = data.activations(m, k);
                    float absmax = 0;
                    for (float v : x) {
                        absmax = Math.max(absmax, Math.abs(v));
                    }
                    // a calibrated scale that clips the largest values, and ties at half steps
                    float scale = (float) Math.scalb(1.0, Math.getExponent(0.6f * absmax / scheme.qmax()));
                    for (int i = 0; i < x.length; i += 3) {
                        x[i] = (float) ((data.nextInt(4 * scheme.qmax() + 1) - 2 * scheme.qmax()) * scale / 2);
                    }
                    int zero = scheme.symmetric() ? 0 : (scheme.qmin() + scheme.qmax()) / 2 + 1;
                    s.poison(scheme.codeType(), m, k);
                    DeviceQuantized q = s.keep(kit.backend.quantizeStatic(s.up(x, m, k), scheme, scale, zero));
                    compare(kit, name, q, RefQuantizer.quantizeStatic(x, m, k, scheme, scale, zero));
                }));
            }
        }
        t.add(kit.test("quantizeStatic rejects a per-group scheme", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 64), 2, 64);
            assertThatThrownBy(() -> s.keep(kit.backend.quantizeStatic(x, QuantScheme.symmetricGroup(bits, 32).asStatic(), 0.1f, 0)))
                    .isInstanceOf(InvalidInputException.class);
        }));
        t.add(kit.test("quantize rejects integer input", (s, data) -> {
            DeviceTensor x = s.up(dev.nibble.api.Tensor.ofInts(new int[] {1, 2, 3, 4}, 2, 2));
            assertThatThrownBy(() -> s.keep(kit.backend.quantize(x, QuantScheme.symmetric(bits, Granularity.PER_TOKEN))))
                    .isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.Quantize(bits), t.stream());
    }

    private static DynamicNode nf4(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (int block : new int[] {32, 64, 128}) {
            QuantScheme scheme = QuantScheme.nf4(block);
            for (int[] mk : shapes(kit)) {
                t.add(quantizeTest(kit, scheme, mk[0], mk[1]));
            }
            t.add(kit.test("dequantize " + scheme.describe() + " [7, 200]", (s, data) -> {
                RefQuantized ref = RefQuantizer.quantize(data.weights(7, 200), 7, 200, scheme);
                s.poison(DType.F32, 7, 200);
                float[] y = s.floats("dequantize", kit.backend.dequantize(s.up(ref.toQuantizedTensor())), 7, 200);
                Tolerance.assertClose("dequantize " + scheme.describe(), y, dequantized(ref));
            }));
        }
        return kit.capability(new Capability.QuantizeNf4(), t.stream());
    }

    private static DynamicNode quantizeTest(Kit kit, QuantScheme scheme, int m, int k) {
        String name = "quantize " + scheme.describe() + " [" + m + ", " + k + "]";
        return kit.test(name, (s, data) -> {
            float[] x = scheme.format() == QuantScheme.Format.NF4 ? data.weights(m, k) : data.activations(m, k);
            data.plantTies(x, m, k, scheme);
            if (m >= 3) {
                // an all-zero row: the zero-scale rule of the spec
                java.util.Arrays.fill(x, k, 2 * k, 0f);
            }
            RefQuantized ref = RefQuantizer.quantize(x, m, k, scheme);
            s.poison(scheme.codeType(), m, k);
            s.poison(DType.F32, ref.scales().length);
            DeviceTensor dx = s.up(x, m, k);
            DeviceQuantized q = s.keep(kit.backend.quantize(dx, scheme));
            compare(kit, name, q, ref);
            // a second run gives the same bits
            DeviceQuantized again = s.keep(kit.backend.quantize(dx, scheme));
            compare(kit, name + " (second run)", again, ref);
        });
    }

    /** Codes (logical and packed bytes), scales and zero points must be bit-identical. */
    static void compare(Kit kit, String what, DeviceQuantized q, RefQuantized ref) {
        if (!q.scheme().equals(ref.scheme())) {
            throw new AssertionError(what + ": result scheme " + q.scheme().describe() + ", expected " + ref.scheme().describe());
        }
        if (q.codes().dtype() != ref.scheme().codeType() || q.codes().shape().cols() != ref.k()
                || q.codes().shape().elementCount() != (long) ref.rows() * ref.k()) {
            throw new AssertionError(what + ": codes are " + q.codes().dtype() + " " + q.codes().shape() + ", expected "
                    + ref.scheme().codeType() + " [" + ref.rows() + ", " + ref.k() + "]");
        }
        QuantizedTensor host = kit.backend.download(q);
        if (host.scales().elementCount() != ref.scales().length) {
            throw new AssertionError(what + ": " + host.scales().elementCount() + " scales, expected " + ref.scales().length);
        }
        Tolerance.assertBitIdentical(what + " scales", host.scales().toFloatArray(), ref.scales());
        if (!ref.scheme().symmetric()) {
            if (host.zeros() == null) {
                throw new AssertionError(what + ": an affine scheme returned no zero points");
            }
            Tolerance.assertExact(what + " zero points", host.zeros().toIntArray(), ref.zeros());
        } else if (host.zeros() != null) {
            throw new AssertionError(what + ": a symmetric scheme returned zero points");
        }
        QuantizedTensor flat = new QuantizedTensor(host.codes().reshape(ref.rows(), ref.k()),
                host.scales(), host.zeros(), host.scheme());
        Tolerance.assertExact(what + " codes", RefQuantized.of(flat).codes(), ref.codes());
        Tolerance.assertBytes(what + " codes", host.codes().toByteArray(), ref.packedCodes());
    }

    static RefTensor dequantized(RefQuantized ref) {
        double[] v = new double[ref.codes().length];
        double[] e = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = ref.dequantized(i);
            e[i] = Math.abs(v[i]);
        }
        return RefTensor.of(new long[] {ref.rows(), ref.k()}, v, e);
    }
}
