package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Element types of {@link Tensor}s. Sub-byte types are packed two to a byte in the canonical
 * layout of {@link dev.nibble.api.numerics.Int4Packing}: each row of the last dimension takes
 * {@code ceil(cols / 2)} bytes, element {@code 2i} in the low nibble, {@code 2i+1} in the high one.
 */
@API(status = STABLE, since = "0.1")
public enum DType {
    /** IEEE-754 binary32. */
    F32(32, "F32"),
    /** IEEE-754 binary16. */
    F16(16, "F16"),
    /** bfloat16: the upper half of a binary32. */
    BF16(16, "BF16"),
    /** Signed 8-bit integer. */
    I8(8, "I8"),
    /** Unsigned 8-bit integer. */
    U8(8, "U8"),
    /** Signed 32-bit integer. */
    I32(32, "I32"),
    /** Signed 64-bit integer. */
    I64(64, "I64"),
    /** Signed 4-bit integer in two's complement, packed two per byte. */
    INT4(4, "I4"),
    /** Unsigned 4-bit integer, packed two per byte. */
    UINT4(4, "U4"),
    /** 4-bit index into the NF4 code book ({@link dev.nibble.api.numerics.Nf4}), packed two per byte. */
    NF4(4, "NF4");

    private final int bits;
    private final String safetensorsName;

    DType(int bits, String safetensorsName) {
        this.bits = bits;
        this.safetensorsName = safetensorsName;
    }

    /** @return bits per element (4 for packed types) */
    public int bits() {
        return bits;
    }

    /** @return true for the 4-bit types that pack two elements per byte */
    public boolean isPacked() {
        return bits == 4;
    }

    /** @return true for F32, F16 and BF16 */
    public boolean isFloatingPoint() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** @return the dtype string used in safetensors headers (packed types use Nibble's own names) */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * Bytes taken by a row-major tensor of this type. Packed types pad each row of the last
     * dimension to whole bytes.
     *
     * @param shape the logical shape
     * @return the byte length of the storage
     * @throws ArithmeticException if it does not fit in a long (a forged shape must not wrap around)
     */
    public long byteSize(Shape shape) {
        if (!isPacked()) {
            return Math.multiplyExact(shape.elementCount(), bits / 8);
        }
        long cols = shape.rank() == 0 ? 1 : shape.dim(shape.rank() - 1);
        return Math.multiplyExact(shape.rows(), cols / 2 + cols % 2);
    }

    /**
     * The type with the given safetensors name.
     *
     * @param name a dtype string such as {@code "F32"} or {@code "BF16"}
     * @return the matching type
     * @throws IllegalArgumentException if no type has that name
     */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "'");
    }
}
