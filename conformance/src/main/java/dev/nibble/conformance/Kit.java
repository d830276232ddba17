package dev.nibble.conformance;

import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.Executable;

/** What every case needs: the backend, the sizes, seeded data, device scopes and poisoning. */
final class Kit {
    /** Prefix of every container of one capability; the runner groups results by it. */
    static final String UNSUPPORTED = "unsupported: ";

    final KernelBackend backend;
    final boolean full;
    final long seed;

    Kit(KernelBackend backend, boolean full, long seed) {
        this.backend = backend;
        this.full = full;
        this.seed = seed;
    }

    /** A body of a test, given fresh data and a scope that closes its device tensors. */
    interface Body {
        void run(Scope scope, TestData data) throws Throwable;
    }

    /** One dynamic test with its own data, seeded by the kit's seed and its name. */
    DynamicTest test(String name, Body body) {
        return dynamicTest(name, () -> {
            try (Scope s = new Scope()) {
                body.run(s, new TestData(TestData.seedFor(seed, name)));
            }
        });
    }

    /**
     * The container of one capability: the tests if the backend declares it, else a single
     * aborted test "unsupported: ...".
     */
    DynamicContainer capability(Capability cap, Stream<? extends DynamicNode> tests) {
        return group(cap.describe(), Set.of(cap), tests);
    }

    DynamicContainer group(String name, Set<Capability> needs, Stream<? extends DynamicNode> tests) {
        List<Capability> missing = needs.stream().filter(c -> !backend.supports(c)).toList();
        if (!missing.isEmpty()) {
            String why = UNSUPPORTED + missing.stream().map(Capability::describe).sorted()
                    .collect(Collectors.joining(", "));
            Executable abort = () -> Assumptions.abort(why);
            return dynamicContainer(name, Stream.of(dynamicTest("unsupported", abort)));
        }
        return dynamicContainer(name, tests);
    }

    /** Device tensors opened by one test, closed at its end. */
    final class Scope implements AutoCloseable {
        private final List<AutoCloseable> open = new ArrayList<>();
        private final List<Tensor> armed = new ArrayList<>();

        /** Keeps a result (or any device object) to close at the end; the operation under test has run. */
        <T extends AutoCloseable> T keep(T t) {
            armed.clear();
            open.add(t);
            return t;
        }

        DeviceTensor up(float[] v, long... shape) {
            return up(Tensor.ofFloats(v, shape));
        }

        DeviceTensor up(Tensor t) {
            DeviceTensor d = backend.upload(t);
            open.add(d);
            repoison();
            return d;
        }

        DeviceQuantized up(dev.nibble.api.QuantizedTensor q) {
            DeviceQuantized d = backend.upload(q);
            open.add(d);
            repoison();
            return d;
        }

        /** Downloads an F32 result and checks its type and shape. */
        float[] floats(String what, DeviceTensor t, long... shape) {
            keep(t);
            checkShape(what, t.dtype(), t.shape(), DType.F32, shape);
            Tensor h = backend.download(t);
            checkShape(what + " (downloaded)", h.dtype(), h.shape(), DType.F32, shape);
            return h.toFloatArray();
        }

        /** Downloads a BF16 result and checks its type and shape. */
        short[] bf16(String what, DeviceTensor t, long... shape) {
            keep(t);
            checkShape(what, t.dtype(), t.shape(), DType.BF16, shape);
            Tensor h = backend.download(t);
            checkShape(what + " (downloaded)", h.dtype(), h.shape(), DType.BF16, shape);
            short[] bits = new short[Math.toIntExact(h.elementCount())];
            MemorySegment.copy(h.data(), Tensor.I16_LE, 0, bits, 0, bits.length);
            return bits;
        }

        /** Downloads an I32 result and checks its type and shape. */
        int[] ints(String what, DeviceTensor t, long... shape) {
            keep(t);
            checkShape(what, t.dtype(), t.shape(), DType.I32, shape);
            Tensor h = backend.download(t);
            checkShape(what + " (downloaded)", h.dtype(), h.shape(), DType.I32, shape);
            return h.toIntArray();
        }

        /**
         * Makes the backend's allocator hand out dirty memory to the next operation, where it
         * recycles memory at all: uploads tensors of the output's type and size filled with 0xFF
         * bytes (NaN for F32, -1 for integers) and frees them. The poison is laid again after every
         * input upload, so that it is the last thing freed before the operation under test runs.
         * An output element the operation forgets to write then shows up as NaN or -1 instead of a
         * lucky zero.
         */
        void poison(DType dtype, long... shape) {
            Shape s = Shape.of(shape);
            MemorySegment seg = MemorySegment.ofArray(new byte[Math.toIntExact(Math.max(1, dtype.byteSize(s)))])
                    .asSlice(0, dtype.byteSize(s));
            seg.fill((byte) 0xFF);
            Tensor host = Tensor.wrap(dtype, s, seg);
            armed.add(host);
            lay(host);
        }

        private void repoison() {
            for (Tensor t : armed) {
                lay(t);
            }
        }

        private void lay(Tensor host) {
            for (int i = 0; i < 2; i++) {
                backend.upload(host).close();
            }
        }

        @Override
        public void close() {
            for (int i = open.size() - 1; i >= 0; i--) {
                try {
                    open.get(i).close();
                } catch (Exception e) {
                    throw new AssertionError("closing a device tensor failed", e);
                }
            }
        }
    }

    static void checkShape(String what, DType dtype, Shape actual, DType expectedType, long... expected) {
        if (dtype != expectedType) {
            throw new AssertionError(what + ": dtype " + dtype + ", expected " + expectedType);
        }
        if (!Arrays.equals(actual.dims(), expected)) {
            throw new AssertionError(what + ": shape " + actual + ", expected " + Arrays.toString(expected));
        }
    }

}
