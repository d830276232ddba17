package dev.nibble.backend.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * The few CUDA driver API functions the backend uses, with handles as plain longs. Two bindings:
 * {@link JCudaBinding} (JNI, JCuda) and {@link FfmBinding} (java.lang.foreign on libcuda.so.1).
 * Every method throws {@link CudaException} when the driver returns an error.
 */
public interface Driver {
    /** @return "jcuda" or "ffm" */
    String binding();

    /** cuInit(0). */
    void init();

    /** @return cuDriverGetVersion, e.g. 13000 */
    int driverVersion();

    /** @return cuDeviceGetCount */
    int deviceCount();

    /** @param ordinal device ordinal @return its name */
    String deviceName(int ordinal);

    /** @param ordinal device ordinal @param attribute a CUdevice_attribute @return its value */
    int attribute(int ordinal, int attribute);

    /** @param ordinal device ordinal @return total memory in bytes */
    long totalMemory(int ordinal);

    /** @param ordinal device ordinal @return the retained primary context */
    long retainPrimaryContext(int ordinal);

    /** @param ordinal device ordinal */
    void releasePrimaryContext(int ordinal);

    /** @param context a context to make current on this thread */
    void setCurrent(long context);

    /** @param image PTX (NUL-terminated) or cubin bytes @return the module */
    long loadModule(byte[] image);

    /** @param module a module */
    void unloadModule(long module);

    /** @param module a module @param name an extern "C" kernel name @return the function */
    long function(long module, String name);

    /** @param function a function @param attribute CUfunction_attribute @param value its value */
    void setFunctionAttribute(long function, int attribute, int value);

    /** @param bytes size @return a device pointer */
    long malloc(long bytes);

    /** @param pointer a device pointer from {@link #malloc} */
    void free(long pointer);

    /** @param dst device pointer @param src host memory @param bytes count */
    void copyToDevice(long dst, MemorySegment src, long bytes);

    /** @param dst host memory @param src device pointer @param bytes count */
    void copyToHost(MemorySegment dst, long src, long bytes);

    /** @param dst device @param src device @param bytes count */
    void copyDeviceToDevice(long dst, long src, long bytes);

    /** @param dst device pointer @param value byte value @param bytes count */
    void memset(long dst, byte value, long bytes);

    /**
     * Launches on the default stream.
     *
     * @param function the kernel
     * @param grid grid dimensions x, y, z
     * @param block block dimensions x, y, z
     * @param sharedBytes dynamic shared memory
     * @param args one 8-byte slot per kernel parameter (ints and floats in the low 4 bytes)
     */
    default void launch(long function, int[] grid, int[] block, int sharedBytes, long[] args) {
        launch(function, grid, block, sharedBytes, args, 0L);
    }

    /**
     * As {@link #launch(long, int[], int[], int, long[])} on {@code stream} (0: the default stream).
     *
     * @param stream a stream from {@link #createStream}, or 0
     */
    void launch(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream);

    /**
     * As {@link #launch(long, int[], int[], int, long[], long)}, as a programmatic dependent launch (compute capability
     * 9.0 on): the kernel may start while the previous kernel on the stream still runs, and must wait
     * (griddepcontrol.wait) before it reads what that kernel writes; everything earlier on the stream has completed.
     * A plain launch where the driver has no cuLaunchKernelEx: the same results.
     */
    void launchDependent(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream);

    /**
     * @param function a kernel @param blockThreads threads per block @param dynamicSharedBytes dynamic shared memory
     * @return how many such blocks one multiprocessor holds (cuOccupancyMaxActiveBlocksPerMultiprocessor)
     */
    int maxActiveBlocksPerSm(long function, int blockThreads, int dynamicSharedBytes);

    /** @return a new stream that does not synchronize with the default stream (CU_STREAM_NON_BLOCKING) */
    long createStream();

    /** @param stream a stream from {@link #createStream} */
    void destroyStream(long stream);

    /** @param event an event to record on {@code stream} (0: the default stream) */
    void recordEvent(long event, long stream);

    /** Work submitted to {@code stream} after this call waits until {@code event} has completed. */
    void streamWaitEvent(long stream, long event);

    /** @return a new event without timing (cheaper to record and wait on) */
    long createSyncEvent();

    /** cuCtxSynchronize. */
    void synchronize();

    /** @return {free, total} bytes of the current context's device */
    long[] memoryInfo();

    /** @return a new event */
    long createEvent();

    /** @param event an event to record on the default stream */
    default void recordEvent(long event) {
        recordEvent(event, 0L);
    }

    /** @param start recorded event @param end recorded event @return milliseconds between them (waits for end) */
    float elapsedMillis(long start, long end);

    /** @param event an event */
    void destroyEvent(long event);
}
