package dev.nibble.model.safetensors;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;

/**
 * One tensor's header entry in a safetensors file.
 *
 * @param name the tensor's name
 * @param dtype its element type
 * @param shape its logical shape
 * @param begin first byte, relative to the start of the data area
 * @param end one past the last byte, relative to the start of the data area
 */
public record TensorEntry(String name, DType dtype, Shape shape, long begin, long end) {
    /** @return the byte length of the tensor's storage */
    public long byteLength() {
        return end - begin;
    }
}
