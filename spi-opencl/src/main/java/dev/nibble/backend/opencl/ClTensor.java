package dev.nibble.backend.opencl;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.DeviceTensor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/** A tensor in an OpenCL buffer of one {@link OpenClBackend}, in the canonical host layout. */
final class ClTensor implements DeviceTensor {
    private final ClMemory memory;
    private final String deviceId;
    private final cl_mem mem;
    private final DType dtype;
    private final Shape shape;
    private final long bytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    ClTensor(ClMemory memory, String deviceId, cl_mem mem, DType dtype, Shape shape, long bytes) {
        this.memory = memory;
        this.deviceId = deviceId;
        this.mem = mem;
        this.dtype = dtype;
        this.shape = shape;
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
        return deviceId;
    }

    cl_mem mem() {
        return mem;
    }

    long bytes() {
        return bytes;
    }

    ClMemory memory() {
        return memory;
    }

    boolean isClosed() {
        return closed.get();
    }

    /** @return CL_MEM_REFERENCE_COUNT of the buffer (1 while only this tensor holds it) */
    int referenceCount() {
        int[] v = new int[1];
        CL.clGetMemObjectInfo(mem, CL.CL_MEM_REFERENCE_COUNT, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            memory.release(this);
        }
    }

    @Override
    public String toString() {
        return "ClTensor[" + dtype + " " + shape + " on " + deviceId + (closed.get() ? ", closed]" : "]");
    }
}
