package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.numerics.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * A dense, row-major host tensor: a shape, an element type and little-endian storage in a
 * {@link MemorySegment}. The segment may be on-heap, off-heap or a region of a memory-mapped file
 * (reading a checkpoint copies nothing). Tensors are views: they do not own their memory, whose
 * lifetime is that of the segment's arena.
 *
 * <p>Device memory is a backend's {@link dev.nibble.api.backend.DeviceTensor}.
 */
@API(status = STABLE, since = "0.1")
public final class Tensor {
    /** Little-endian float layout, unaligned, as in safetensors files. */
    public static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Little-endian int layout, unaligned. */
    public static final ValueLayout.OfInt I32_LE =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Little-endian short layout, unaligned (F16, BF16). */
    public static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Little-endian long layout, unaligned. */
    public static final ValueLayout.OfLong I64_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final Shape shape;
    private final MemorySegment data;

    private Tensor(DType dtype, Shape shape, MemorySegment data) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = Objects.requireNonNull(shape, "shape");
        this.data = Objects.requireNonNull(data, "data");
        long expected = dtype.byteSize(shape);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + dtype + " tensor of shape " + shape + " needs "
                    + expected + " bytes, the segment has " + data.byteSize());
        }
    }

    /**
     * Wraps existing storage.
     *
     * @param dtype element type
     * @param shape logical shape
     * @param data storage of exactly {@code dtype.byteSize(shape)} bytes, little-endian
     * @return the tensor view
     * @throws IllegalArgumentException if the segment's size does not match
     */
    public static Tensor wrap(DType dtype, Shape shape, MemorySegment data) {
        return new Tensor(dtype, shape, data);
    }

    /**
     * Allocates zeroed storage in the given arena.
     *
     * @param dtype element type
     * @param shape logical shape
     * @param arena owner of the memory
     * @return a zero-filled tensor
     */
    public static Tensor allocate(DType dtype, Shape shape, Arena arena) {
        return new Tensor(dtype, shape, arena.allocate(Math.max(1, dtype.byteSize(shape)), 16)
                .asSlice(0, dtype.byteSize(shape)));
    }

    /**
     * Allocates zeroed storage whose lifetime the garbage collector manages.
     *
     * @param dtype element type
     * @param shape logical shape
     * @return a zero-filled tensor
     */
    public static Tensor allocate(DType dtype, Shape shape) {
        return allocate(dtype, shape, Arena.ofAuto());
    }

    /**
     * @param values row-major values
     * @param dims the shape; its element count must equal {@code values.length}
     * @return a new F32 tensor holding a copy of the values
     */
    public static Tensor ofFloats(float[] values, long... dims) {
        Shape shape = Shape.of(dims);
        checkCount(values.length, shape);
        Tensor t = allocate(DType.F32, shape);
        MemorySegment.copy(values, 0, t.data, F32_LE, 0, values.length);
        return t;
    }

    /**
     * @param values row-major values
     * @param dims the shape; its element count must equal {@code values.length}
     * @return a new I32 tensor holding a copy of the values
     */
    public static Tensor ofInts(int[] values, long... dims) {
        Shape shape = Shape.of(dims);
        checkCount(values.length, shape);
        Tensor t = allocate(DType.I32, shape);
        MemorySegment.copy(values, 0, t.data, I32_LE, 0, values.length);
        return t;
    }

    /**
     * @param dtype a byte-sized or packed type (I8, U8, INT4, UINT4, NF4)
     * @param bytes the raw storage
     * @param dims the logical shape
     * @return a new tensor holding a copy of the bytes
     */
    public static Tensor ofBytes(DType dtype, byte[] bytes, long... dims) {
        Shape shape = Shape.of(dims);
        Tensor t = allocate(dtype, shape);
        if (bytes.length != t.data.byteSize()) {
            throw new IllegalArgumentException("a " + dtype + " tensor of shape " + shape + " needs "
                    + t.data.byteSize() + " bytes, got " + bytes.length);
        }
        MemorySegment.copy(bytes, 0, t.data, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return t;
    }

    private static void checkCount(int n, Shape shape) {
        if (n != shape.elementCount()) {
            throw new IllegalArgumentException(n + " values do not fill shape " + shape);
        }
    }

    /** @return the element type */
    public DType dtype() {
        return dtype;
    }

    /** @return the logical shape */
    public Shape shape() {
        return shape;
    }

    /** @return the storage, little-endian, row-major */
    public MemorySegment data() {
        return data;
    }

    /** @return the number of logical elements */
    public long elementCount() {
        return shape.elementCount();
    }

    /**
     * Reads one element of a floating-point tensor as a float.
     *
     * @param index flat row-major index
     * @return the value, widened from F16 or BF16 where needed
     */
    public float getFloat(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, index);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16_LE, index));
            case BF16 -> Bf16.widen(data.getAtIndex(I16_LE, index));
            default -> throw new UnsupportedOperationException("getFloat on a " + dtype + " tensor");
        };
    }

    /**
     * Writes one element of a floating-point tensor, rounding to nearest even for F16 and BF16.
     *
     * @param index flat row-major index
     * @param value the value
     */
    public void setFloat(long index, float value) {
        switch (dtype) {
            case F32 -> data.setAtIndex(F32_LE, index, value);
            case F16 -> data.setAtIndex(I16_LE, index, Float.floatToFloat16(value));
            case BF16 -> data.setAtIndex(I16_LE, index, Bf16.round(value));
            default -> throw new UnsupportedOperationException("setFloat on a " + dtype + " tensor");
        }
    }

    /**
     * @param index flat row-major index
     * @return the element of an I8, U8, I32 or I64 tensor, or the signed/unsigned value of a
     *     packed 4-bit element
     */
    public long getLong(long index) {
        return switch (dtype) {
            case I8 -> data.get(ValueLayout.JAVA_BYTE, index);
            case U8 -> data.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case I32 -> data.getAtIndex(I32_LE, index);
            case I64 -> data.getAtIndex(I64_LE, index);
            case INT4, UINT4, NF4 -> {
                long cols = shape.cols();
                long row = index / cols;
                long col = index % cols;
                int b = data.get(ValueLayout.JAVA_BYTE, row * ((cols + 1) / 2) + col / 2);
                int nibble = (col & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
                yield dtype == DType.INT4 ? (nibble << 28) >> 28 : nibble;
            }
            default -> throw new UnsupportedOperationException("getLong on a " + dtype + " tensor");
        };
    }

    /** @return a copy of all elements of a floating-point tensor as F32 */
    public float[] toFloatArray() {
        int n = Math.toIntExact(elementCount());
        float[] out = new float[n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32_LE, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    /** @return a copy of all elements of an integer tensor (packed types unpacked) as ints */
    public int[] toIntArray() {
        int n = Math.toIntExact(elementCount());
        int[] out = new int[n];
        if (dtype == DType.I32) {
            MemorySegment.copy(data, I32_LE, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = Math.toIntExact(getLong(i));
            }
        }
        return out;
    }

    /** @return a copy of the raw storage */
    public byte[] toByteArray() {
        return data.toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * @param newShape a shape with the same element count (and, for packed types, the same last
     *     dimension)
     * @return a view of the same storage with another shape
     */
    public Tensor reshape(long... newShape) {
        return new Tensor(dtype, Shape.of(newShape), data);
    }

    /**
     * @param target F32, F16 or BF16
     * @return a new tensor with every element converted (this tensor if it already has that type)
     */
    public Tensor to(DType target) {
        if (target == dtype) {
            return this;
        }
        if (!dtype.isFloatingPoint() || !target.isFloatingPoint()) {
            throw new UnsupportedOperationException("conversion " + dtype + " -> " + target);
        }
        Tensor t = allocate(target, shape);
        long n = elementCount();
        for (long i = 0; i < n; i++) {
            t.setFloat(i, getFloat(i));
        }
        return t;
    }

    /**
     * @return a deep copy in GC-managed memory
     */
    public Tensor copy() {
        Tensor t = allocate(dtype, shape);
        MemorySegment.copy(data, 0, t.data, 0, data.byteSize());
        return t;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + shape + "]";
    }
}
