package dev.nibble.backend.cuda;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.DeviceTensor;
import java.util.concurrent.atomic.AtomicBoolean;

/** Device memory of a {@link CudaBackend}: a pooled allocation, released on close. */
final class CudaTensor implements DeviceTensor {
    private final CudaBackend owner;
    private final DType dtype;
    private final Shape shape;
    private final long ptr;
    private final long bytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    CudaTensor(CudaBackend owner, DType dtype, Shape shape, long ptr, long bytes) {
        this.owner = owner;
        this.dtype = dtype;
        this.shape = shape;
        this.ptr = ptr;
        this.bytes = bytes;
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
        return owner.id();
    }

    long ptr() {
        if (closed.get()) {
            throw new IllegalStateException("tensor " + dtype + shape + " on " + owner.id() + " is closed");
        }
        return ptr;
    }

    /** @return the pointer even after close (for the pool) */
    long ptr0() {
        return ptr;
    }

    long bytes() {
        return bytes;
    }

    CudaBackend owner() {
        return owner;
    }

    boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            owner.release(this);
        }
    }

    @Override
    public String toString() {
        return "CudaTensor[" + dtype + " " + shape + " on " + owner.id() + "]";
    }
}
