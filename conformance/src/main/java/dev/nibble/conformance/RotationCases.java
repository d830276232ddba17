package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.Capability.RotationKind;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.conformance.reference.RefRotation;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** {@code rotate}, {@code smooth} and {@code shift}. */
final class RotationCases {
    private RotationCases() {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        return Stream.of(regular(kit), sylvester(kit), dense(kit), smoothShift(kit));
    }

    private static DynamicNode regular(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (int n0 : new int[] {4, 16, 64, 256, 1024}) {
            Rotation r = new Rotation.RegularHadamard(n0);
            int rows = n0 >= 256 ? 2 : 5;
            for (int k : new int[] {n0, 3 * n0, n0 + 3, n0 / 2 + 1}) {
                t.add(rotationTest(kit, r, rows, k));
            }
            t.add(rotationTest(kit, r, 1, 2 * n0 + 1));
        }
        if (kit.full) {
            t.add(rotationTest(kit, new Rotation.RegularHadamard(256), 64, 1152));
            t.add(rotationTest(kit, new Rotation.RegularHadamard(1024), 16, 3072));
        }
        t.add(rotation3d(kit, new Rotation.RegularHadamard(16), 40));
        return kit.capability(new Capability.Rotate(RotationKind.REGULAR_HADAMARD), t.stream());
    }

    private static DynamicNode sylvester(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (int b : new int[] {2, 8, 128, 1024}) {
            Rotation r = new Rotation.SylvesterHadamard(b);
            t.add(rotationTest(kit, r, 3, b));
            t.add(rotationTest(kit, r, 2, 2 * b + 1));
        }
        Rotation g = Rotation.SylvesterHadamard.GLOBAL;
        for (int k : new int[] {64, 256, 24, 40, 56, 72, 60, 108, 280, 1152, 3072}) {
            t.add(rotationTest(kit, g, k >= 1000 ? 2 : 3, k));
        }
        if (kit.full) {
            t.add(rotationTest(kit, g, 16, 3072));
            t.add(rotationTest(kit, g, 8, 20 * 64));
        }
        t.add(rotation3d(kit, g, 96));
        t.add(kit.test("global rotation rejects K without a Hadamard order (K=100)", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 100), 2, 100);
            assertThatThrownBy(() -> s.keep(kit.backend.rotate(x, g))).isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.Rotate(RotationKind.SYLVESTER_HADAMARD), t.stream());
    }

    private static DynamicNode dense(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (int k : new int[] {7, 48, 96}) {
            for (int rows : new int[] {1, 6}) {
                String name = "dense orthogonal K=" + k + " rows=" + rows;
                t.add(kit.test(name, (s, data) -> {
                    Rotation r = new Rotation.Dense(orthogonal(data, k), "random-orthogonal");
                    check(kit, s, data, name, r, rows, k);
                }));
            }
        }
        t.add(kit.test("dense rotation rejects a row width other than its order", (s, data) -> {
            Rotation r = new Rotation.Dense(orthogonal(data, 8), "random-orthogonal");
            DeviceTensor x = s.up(data.activations(2, 9), 2, 9);
            assertThatThrownBy(() -> s.keep(kit.backend.rotate(x, r))).isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.Rotate(RotationKind.DENSE), t.stream());
    }

    private static DynamicNode smoothShift(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (int[] mk : new int[][] {{1, 64}, {5, 33}, {16, 200}, {3, 1152}}) {
            int m = mk[0];
            int k = mk[1];
            t.add(kit.test("smooth [" + m + ", " + k + "] (IEEE float32 division, bit-identical)", (s, data) -> {
                float[] x = data.activations(m, k);
                float[] d = data.positive(k);
                s.poison(DType.F32, m, k);
                float[] y = s.floats("smooth", kit.backend.smooth(s.up(x, m, k), s.up(d, k)), m, k);
                float[] ref = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    ref[i] = (float) ((double) x[i] / d[i % k]); // exact: double rounding is innocuous for division
                }
                Tolerance.assertBitIdentical("smooth", y, ref);
            }));
            t.add(kit.test("shift [" + m + ", " + k + "] (IEEE float32 addition, bit-identical)", (s, data) -> {
                float[] x = data.activations(m, k);
                float[] o = data.uniform(k, -5, 5);
                s.poison(DType.F32, m, k);
                float[] y = s.floats("shift", kit.backend.shift(s.up(x, m, k), s.up(o, k)), m, k);
                float[] ref = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    ref[i] = (float) ((double) x[i] + o[i % k]);
                }
                Tolerance.assertBitIdentical("shift", y, ref);
            }));
        }
        t.add(kit.test("smooth and shift keep leading dimensions [2, 3, 16]", (s, data) -> {
            float[] x = data.activations(6, 16);
            s.floats("smooth", kit.backend.smooth(s.up(x, 2, 3, 16), s.up(data.positive(16), 16)), 2, 3, 16);
            s.floats("shift", kit.backend.shift(s.up(x, 2, 3, 16), s.up(data.uniform(16, -1, 1), 16)), 2, 3, 16);
        }));
        t.add(kit.test("smooth and shift reject a vector of the wrong length", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 16), 2, 16);
            DeviceTensor v = s.up(data.positive(15), 15);
            assertThatThrownBy(() -> s.keep(kit.backend.smooth(x, v))).as("smooth").isInstanceOf(InvalidInputException.class);
            assertThatThrownBy(() -> s.keep(kit.backend.shift(x, v))).as("shift").isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.SmoothShift(), t.stream());
    }

    private static DynamicNode rotationTest(Kit kit, Rotation r, int rows, int k) {
        String name = r.describe() + " rows=" + rows + " K=" + k + (r.outputDim(k) != k ? " (padded to " + r.outputDim(k) + ")" : "");
        return kit.test(name, (s, data) -> check(kit, s, data, name, r, rows, k));
    }

    private static DynamicNode rotation3d(Kit kit, Rotation r, int k) {
        String name = r.describe() + " keeps leading dimensions [2, 3, " + k + "]";
        return kit.test(name, (s, data) -> {
            float[] x = data.activations(6, k);
            int kp = r.outputDim(k);
            float[] y = s.floats(name, kit.backend.rotate(s.up(x, 2, 3, k), r), 2, 3, kp);
            Tolerance.assertClose(name, y, RefRotation.apply(x, 6, k, r));
        });
    }

    private static void check(Kit kit, Kit.Scope s, TestData data, String name, Rotation r, int rows, int k) {
        float[] x = data.activations(rows, k);
        int kp = r.outputDim(k);
        s.poison(DType.F32, rows, kp);
        float[] y = s.floats(name, kit.backend.rotate(s.up(x, rows, k), r), rows, kp);
        Tolerance.assertClose(name, y, RefRotation.apply(x, rows, k, r));
    }

    /** A random orthogonal matrix (modified Gram-Schmidt in float64, stored as F32). */
    static Tensor orthogonal(TestData data, int k) {
        double[][] q = new double[k][k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                q[i][j] = data.gaussian();
            }
            for (int p = 0; p < i; p++) {
                double dot = 0;
                for (int j = 0; j < k; j++) {
                    dot += q[i][j] * q[p][j];
                }
                for (int j = 0; j < k; j++) {
                    q[i][j] -= dot * q[p][j];
                }
            }
            double norm = 0;
            for (int j = 0; j < k; j++) {
                norm += q[i][j] * q[i][j];
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < k; j++) {
                q[i][j] /= norm;
            }
        }
        float[] f = new float[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                f[i * k + j] = (float) q[i][j];
            }
        }
        return Tensor.ofFloats(f, k, k);
    }
}
