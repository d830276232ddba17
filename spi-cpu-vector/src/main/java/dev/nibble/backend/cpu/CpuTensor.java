package dev.nibble.backend.cpu;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A tensor of the CPU backend: a Java array on the heap, so the Vector API reads it with
 * {@code fromArray}. F32 → {@code float[]}, F16/BF16 → {@code short[]} (raw bits), I32 → {@code int[]},
 * I64 → {@code long[]}, I8/U8 and the packed 4-bit types → {@code byte[]} in canonical layout.
 */
final class CpuTensor implements DeviceTensor {
    private final CpuKernelBackend owner;
    private final DType dtype;
    private final Shape shape;
    private final Object data;
    private volatile boolean closed;

    private CpuTensor(CpuKernelBackend owner, DType dtype, Shape shape, Object data) {
        this.owner = owner;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /** @return a zero-filled tensor */
    static CpuTensor allocate(CpuKernelBackend owner, DType dtype, Shape shape) {
        long n = dtype.isPacked() || dtype == DType.I8 || dtype == DType.U8
                ? dtype.byteSize(shape) : shape.elementCount();
        int len = Math.toIntExact(n);
        Object data = switch (dtype) {
            case F32 -> new float[len];
            case F16, BF16 -> new short[len];
            case I32 -> new int[len];
            case I64 -> new long[len];
            case I8, U8, INT4, UINT4, NF4 -> new byte[len];
        };
        return new CpuTensor(owner, dtype, shape, data);
    }

    static CpuTensor ofFloats(CpuKernelBackend owner, Shape shape, float[] values) {
        if (values.length != shape.elementCount()) {
            throw new IllegalStateException(values.length + " values for shape " + shape);
        }
        return new CpuTensor(owner, DType.F32, shape, values);
    }

    static CpuTensor ofBf16(CpuKernelBackend owner, Shape shape, short[] bits) {
        if (bits.length != shape.elementCount()) {
            throw new IllegalStateException(bits.length + " values for shape " + shape);
        }
        return new CpuTensor(owner, DType.BF16, shape, bits);
    }

    static CpuTensor ofInts(CpuKernelBackend owner, Shape shape, int[] values) {
        return new CpuTensor(owner, DType.I32, shape, values);
    }

    static CpuTensor ofBytes(CpuKernelBackend owner, DType dtype, Shape shape, byte[] bytes) {
        if (bytes.length != dtype.byteSize(shape)) {
            throw new IllegalStateException(bytes.length + " bytes for " + dtype + " " + shape);
        }
        return new CpuTensor(owner, dtype, shape, bytes);
    }

    /** Copies a host tensor into heap arrays. */
    static CpuTensor copyOf(CpuKernelBackend owner, Tensor host) {
        CpuTensor t = allocate(owner, host.dtype(), host.shape());
        MemorySegment src = host.data();
        switch (t.data) {
            case float[] a -> MemorySegment.copy(src, Tensor.F32_LE, 0, a, 0, a.length);
            case short[] a -> MemorySegment.copy(src, Tensor.I16_LE, 0, a, 0, a.length);
            case int[] a -> MemorySegment.copy(src, Tensor.I32_LE, 0, a, 0, a.length);
            case long[] a -> MemorySegment.copy(src, Tensor.I64_LE, 0, a, 0, a.length);
            case byte[] a -> MemorySegment.copy(src, ValueLayout.JAVA_BYTE, 0, a, 0, a.length);
            default -> throw new IllegalStateException();
        }
        return t;
    }

    /** @return a host copy in GC-managed memory */
    Tensor toHost() {
        Tensor t = Tensor.allocate(dtype, shape);
        MemorySegment dst = t.data();
        switch (data) {
            case float[] a -> MemorySegment.copy(a, 0, dst, Tensor.F32_LE, 0, a.length);
            case short[] a -> MemorySegment.copy(a, 0, dst, Tensor.I16_LE, 0, a.length);
            case int[] a -> MemorySegment.copy(a, 0, dst, Tensor.I32_LE, 0, a.length);
            case long[] a -> MemorySegment.copy(a, 0, dst, Tensor.I64_LE, 0, a.length);
            case byte[] a -> MemorySegment.copy(a, 0, dst, ValueLayout.JAVA_BYTE, 0, a.length);
            default -> throw new IllegalStateException();
        }
        return t;
    }

    CpuKernelBackend owner() {
        return owner;
    }

    boolean isClosed() {
        return closed;
    }

    float[] floats() {
        return (float[]) data;
    }

    short[] shorts() {
        return (short[]) data;
    }

    int[] ints() {
        return (int[]) data;
    }

    byte[] bytes() {
        return (byte[]) data;
    }

    /** @return the elements of a floating-point tensor as F32 (the array itself for F32: do not modify) */
    float[] asFloats() {
        return switch (dtype) {
            case F32 -> floats();
            case F16 -> {
                short[] s = shorts();
                float[] f = new float[s.length];
                for (int i = 0; i < s.length; i++) {
                    f[i] = Float.float16ToFloat(s[i]);
                }
                yield f;
            }
            case BF16 -> {
                short[] s = shorts();
                float[] f = new float[s.length];
                for (int i = 0; i < s.length; i++) {
                    f[i] = Float.intBitsToFloat((s[i] & 0xFFFF) << 16);
                }
                yield f;
            }
            default -> throw new IllegalStateException("not floating point: " + dtype);
        };
    }

    /** @return the number of rows (leading dimensions flattened) */
    int rows() {
        return Math.toIntExact(shape.rows());
    }

    /** @return the last dimension */
    int cols() {
        return Math.toIntExact(shape.cols());
    }

    long bytesHeld() {
        return switch (data) {
            case float[] a -> 4L * a.length;
            case short[] a -> 2L * a.length;
            case int[] a -> 4L * a.length;
            case long[] a -> 8L * a.length;
            case byte[] a -> a.length;
            default -> 0;
        };
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public String deviceId() {
        return "cpu";
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "CpuTensor[" + dtype + " " + shape + (closed ? " closed" : "") + "]";
    }
}
