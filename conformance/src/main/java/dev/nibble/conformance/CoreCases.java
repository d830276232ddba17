package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.conformance.reference.RefGemm;
import dev.nibble.conformance.reference.RefTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DynamicNode;

/** Memory transfer and {@code add}: every backend must have them. */
final class CoreCases {
    static final String GROUP = "core: memory and add";

    private CoreCases() {
    }

    static DynamicNode tests(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (DType d : DType.values()) {
            for (long[] shape : new long[][] {{1, 1}, {3, 7}, {2, 3, 33}, {5, 64}}) {
                String name = "upload/download round trip " + d + " " + Shape.of(shape);
                t.add(kit.test(name, (s, data) -> {
                    Shape sh = Shape.of(shape);
                    byte[] bytes = new byte[Math.toIntExact(d.byteSize(sh))];
                    for (int i = 0; i < bytes.length; i++) {
                        bytes[i] = (byte) data.nextInt(256);
                    }
                    if (d.isPacked() && sh.cols() % 2 == 1) {
                        // the trailing nibble of an odd row is zero in canonical form
                        int rb = Math.toIntExact((sh.cols() + 1) / 2);
                        for (int i = rb - 1; i < bytes.length; i += rb) {
                            bytes[i] &= 0x0F;
                        }
                    }
                    if (d.isFloatingPoint()) {
                        int w = d.bits() / 8;
                        for (int i = w - 1; i < bytes.length; i += w) {
                            bytes[i] &= 0x3F; // finite values only (NaN payloads need not survive)
                        }
                    }
                    DeviceTensor dt = s.up(Tensor.ofBytes(d, bytes, shape));
                    Kit.checkShape("uploaded tensor", dt.dtype(), dt.shape(), d, shape);
                    Tensor back = kit.backend.download(dt);
                    Kit.checkShape("downloaded tensor", back.dtype(), back.shape(), d, shape);
                    Tolerance.assertBytes(name, back.toByteArray(), bytes);
                }));
            }
        }
        t.add(kit.test("allocate has the requested type and shape", (s, data) -> {
            for (DType d : new DType[] {DType.F32, DType.I32, DType.INT4, DType.I8}) {
                DeviceTensor a = s.keep(kit.backend.allocate(d, Shape.of(3, 5)));
                Kit.checkShape("allocate " + d, a.dtype(), a.shape(), d, 3, 5);
                Tensor h = kit.backend.download(a);
                Kit.checkShape("download of allocate " + d, h.dtype(), h.shape(), d, 3, 5);
            }
        }));
        t.add(kit.test("device id matches the device", (s, data) -> {
            DeviceTensor a = s.up(data.uniform(4, -1, 1), 4);
            if (!a.deviceId().equals(kit.backend.id())) {
                throw new AssertionError("tensor device id " + a.deviceId() + " is not the backend's " + kit.backend.id());
            }
        }));
        int[][] shapes = {{1, 1}, {1, 7}, {5, 33}, {16, 384}, {3, 1152}};
        for (int[] mn : shapes) {
            int m = mn[0];
            int n = mn[1];
            t.add(kit.test("add same shape [" + m + ", " + n + "]", (s, data) -> {
                float[] a = data.activations(m, n);
                float[] b = data.activations(m, n);
                s.poison(DType.F32, m, n);
                float[] y = s.floats("add", kit.backend.add(s.up(a, m, n), s.up(b, m, n)), m, n);
                Tolerance.assertClose("add", y, RefGemm.add(exact(a, m, n), b));
            }));
            t.add(kit.test("add broadcast row [" + m + ", " + n + "] + [" + n + "]", (s, data) -> {
                float[] a = data.activations(m, n);
                float[] b = data.uniform(n, -3, 3);
                s.poison(DType.F32, m, n);
                float[] y = s.floats("add", kit.backend.add(s.up(a, m, n), s.up(b, n)), m, n);
                Tolerance.assertClose("add", y, RefGemm.add(exact(a, m, n), b));
            }));
        }
        t.add(kit.test("add 3-d [2, 3, 48] + [48]", (s, data) -> {
            float[] a = data.activations(6, 48);
            float[] b = data.uniform(48, -3, 3);
            float[] y = s.floats("add", kit.backend.add(s.up(a, 2, 3, 48), s.up(b, 48)), 2, 3, 48);
            Tolerance.assertClose("add", y, RefGemm.add(exact(a, 6, 48), b));
        }));
        t.add(kit.test("add rejects mismatched shapes", (s, data) -> {
            DeviceTensor a = s.up(data.uniform(12, -1, 1), 3, 4);
            DeviceTensor b = s.up(data.uniform(5, -1, 1), 5);
            DeviceTensor c = s.up(data.uniform(8, -1, 1), 2, 4);
            assertThatThrownBy(() -> s.keep(kit.backend.add(a, b))).as("add [3,4] + [5]")
                    .isInstanceOf(InvalidInputException.class);
            assertThatThrownBy(() -> s.keep(kit.backend.add(a, c))).as("add [3,4] + [2,4]")
                    .isInstanceOf(InvalidInputException.class);
        }));
        return kit.group(GROUP, Set.of(), t.stream());
    }

    static RefTensor exact(float[] a, long... shape) {
        return RefTensor.of(shape, RefGemm.toDouble(a), new double[a.length]);
    }
}
