package dev.nibble.backend.opencl;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.backend.DeviceMemoryException;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.cl_context;
import org.jocl.cl_mem;

/** Allocates and releases the buffers of one context and accounts for every byte. */
final class ClMemory {
    private final cl_context context;
    private final String deviceId;
    private final AtomicLong allocated = new AtomicLong();
    private final Set<ClTensor> live = ConcurrentHashMap.newKeySet();

    ClMemory(cl_context context, String deviceId) {
        this.context = context;
        this.deviceId = deviceId;
    }

    ClTensor allocate(DType dtype, Shape shape) {
        long bytes = dtype.byteSize(shape);
        cl_mem mem;
        try {
            // a zero-sized buffer is invalid in OpenCL: empty tensors get one byte
            mem = CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, Math.max(1, bytes), null, null);
        } catch (CLException e) {
            throw new DeviceMemoryException("allocating " + bytes + " bytes for a " + dtype + " " + shape + " tensor on "
                    + deviceId + " failed: " + e.getMessage() + " (" + allocated.get() + " bytes held by Nibble)");
        }
        ClTensor t = new ClTensor(this, deviceId, mem, dtype, shape, Math.max(1, bytes));
        allocated.addAndGet(t.bytes());
        live.add(t);
        return t;
    }

    void release(ClTensor t) {
        if (live.remove(t)) {
            CL.clReleaseMemObject(t.mem());
            allocated.addAndGet(-t.bytes());
        }
    }

    /** Releases every buffer still alive (backend close). */
    void releaseAll() {
        for (ClTensor t : new ArrayList<>(live)) {
            t.close();
        }
    }

    long allocatedBytes() {
        return allocated.get();
    }

    int liveBuffers() {
        return live.size();
    }
}
