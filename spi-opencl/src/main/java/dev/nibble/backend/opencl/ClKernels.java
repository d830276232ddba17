package dev.nibble.backend.opencl;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The kernels of one program and the launch helper. Kernel objects hold their arguments, so setting
 * arguments and enqueueing happen under one lock: operations may come from several threads.
 */
final class ClKernels implements AutoCloseable {
    static final String[] NAMES = {"binary_op", "unary_op", "adaln_op", "layer_norm", "softmax_rows", "attention",
        "pad_rows", "bf16_widen", "bf16_round", "regular_hadamard", "sylvester_blocks", "sylvester_mix", "dense_rotate", "quant_params",
        "quant_codes", "dequantize", "gemm_f32", "qgemm_s8", "qgemm_generic", "gemm_f32_cpu", "qgemm_s8_cpu"};

    /** Local memory of the given size as a kernel argument. */
    record Local(long bytes) {
    }

    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final cl_command_queue queue;
    private final ClTensor dummy;
    private final ReentrantLock lock = new ReentrantLock();

    ClKernels(cl_program program, cl_command_queue queue, ClTensor dummy) {
        this.queue = queue;
        this.dummy = dummy;
        for (String n : NAMES) {
            kernels.put(n, CL.clCreateKernel(program, n, null));
        }
    }

    /**
     * Sets the arguments and enqueues. Arguments: {@link ClTensor} (null for an unused buffer),
     * Integer, Float, {@link Local}.
     */
    void launch(String name, long[] global, long[] local, Object... args) {
        for (long g : global) {
            if (g == 0) {
                return;
            }
        }
        cl_kernel k = kernels.get(name);
        lock.lock();
        try {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a == null) {
                    CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(dummy.mem()));
                } else if (a instanceof ClTensor t) {
                    CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(t.mem()));
                } else if (a instanceof Integer v) {
                    CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                } else if (a instanceof Float v) {
                    CL.clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
                } else if (a instanceof Local l) {
                    CL.clSetKernelArg(k, i, l.bytes(), null);
                } else {
                    throw new IllegalArgumentException("kernel argument " + i + " of " + name + ": " + a);
                }
            }
            CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null);
        } finally {
            lock.unlock();
        }
    }

    /** 1-D launch over n items, work-group size chosen by the runtime. */
    void launch1(String name, long n, Object... args) {
        launch(name, new long[] {n}, null, args);
    }

    void copy(cl_mem src, cl_mem dst, long bytes) {
        if (bytes == 0) {
            return;
        }
        lock.lock();
        try {
            CL.clEnqueueCopyBuffer(queue, src, dst, 0, 0, bytes, 0, null, null);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        for (cl_kernel k : kernels.values()) {
            CL.clReleaseKernel(k);
        }
        kernels.clear();
    }
}
