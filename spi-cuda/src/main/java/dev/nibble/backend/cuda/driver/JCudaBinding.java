package dev.nibble.backend.cuda.driver;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.Optional;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;


/** The driver through JCuda's JNI binding (org.jcuda:jcuda). Handles cross the interface as longs. */
public final class JCudaBinding implements Driver {
    private static final VarHandle NATIVE;
    private static final long CHUNK = 1L << 30;

    static {
        try {
            NATIVE = MethodHandles.privateLookupIn(NativePointerObject.class, MethodHandles.lookup())
                    .findVarHandle(NativePointerObject.class, "nativePointer", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** cuLaunchKernelEx through FFM (JCuda 12.6.0 has none); empty: dependent launches are plain ones */
    private final Optional<DependentLaunch> dependent;

    /**
     * Loads JCuda's native library; throws a LinkageError if it cannot.
     *
     * @param cuda the driver library's symbols, for the one function JCuda lacks (cuLaunchKernelEx); null: none
     */
    public JCudaBinding(SymbolLookup cuda) {
        jcuda.driver.JCudaDriver.setExceptionsEnabled(false);
        dependent = cuda == null ? Optional.empty() : DependentLaunch.find(cuda);
    }

    private static long handle(NativePointerObject o) {
        return (long) NATIVE.get(o);
    }

    private static <T extends NativePointerObject> T wrap(T o, long h) {
        NATIVE.set(o, h);
        return o;
    }

    private static CUdeviceptr ptr(long address) {
        return wrap(new CUdeviceptr(), address);
    }

    private static void check(String call, int rc) {
        if (rc != 0) {
            throw new CudaException(call, rc);
        }
    }

    private static CUdevice device(int ordinal) {
        CUdevice d = new CUdevice();
        check("cuDeviceGet", jcuda.driver.JCudaDriver.cuDeviceGet(d, ordinal));
        return d;
    }

    @Override
    public String binding() {
        return "jcuda";
    }

    @Override
    public void init() {
        check("cuInit", jcuda.driver.JCudaDriver.cuInit(0));
    }

    @Override
    public int driverVersion() {
        int[] v = new int[1];
        check("cuDriverGetVersion", jcuda.driver.JCudaDriver.cuDriverGetVersion(v));
        return v[0];
    }

    @Override
    public int deviceCount() {
        int[] v = new int[1];
        check("cuDeviceGetCount", jcuda.driver.JCudaDriver.cuDeviceGetCount(v));
        return v[0];
    }

    @Override
    public String deviceName(int ordinal) {
        byte[] b = new byte[256];
        check("cuDeviceGetName", jcuda.driver.JCudaDriver.cuDeviceGetName(b, b.length, device(ordinal)));
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public int attribute(int ordinal, int attribute) {
        int[] v = new int[1];
        check("cuDeviceGetAttribute", jcuda.driver.JCudaDriver.cuDeviceGetAttribute(v, attribute, device(ordinal)));
        return v[0];
    }

    @Override
    public long totalMemory(int ordinal) {
        long[] v = new long[1];
        check("cuDeviceTotalMem", jcuda.driver.JCudaDriver.cuDeviceTotalMem(v, device(ordinal)));
        return v[0];
    }

    @Override
    public long retainPrimaryContext(int ordinal) {
        CUcontext c = new CUcontext();
        check("cuDevicePrimaryCtxRetain", jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain(c, device(ordinal)));
        return handle(c);
    }

    @Override
    public void releasePrimaryContext(int ordinal) {
        check("cuDevicePrimaryCtxRelease", jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease(device(ordinal)));
    }

    @Override
    public void setCurrent(long context) {
        check("cuCtxSetCurrent", jcuda.driver.JCudaDriver.cuCtxSetCurrent(wrap(new CUcontext(), context)));
    }

    @Override
    public long loadModule(byte[] image) {
        CUmodule m = new CUmodule();
        check("cuModuleLoadData", jcuda.driver.JCudaDriver.cuModuleLoadData(m, image));
        return handle(m);
    }

    @Override
    public void unloadModule(long module) {
        check("cuModuleUnload", jcuda.driver.JCudaDriver.cuModuleUnload(wrap(new CUmodule(), module)));
    }

    @Override
    public long function(long module, String name) {
        CUfunction f = new CUfunction();
        check("cuModuleGetFunction(" + name + ")",
                jcuda.driver.JCudaDriver.cuModuleGetFunction(f, wrap(new CUmodule(), module), name));
        return handle(f);
    }

    @Override
    public void setFunctionAttribute(long function, int attribute, int value) {
        check("cuFuncSetAttribute", jcuda.driver.JCudaDriver.cuFuncSetAttribute(wrap(new CUfunction(), function),
                attribute, value));
    }

    @Override
    public long malloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        check("cuMemAlloc", jcuda.driver.JCudaDriver.cuMemAlloc(p, bytes));
        return handle(p);
    }

    @Override
    public void free(long pointer) {
        check("cuMemFree", jcuda.driver.JCudaDriver.cuMemFree(ptr(pointer)));
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes) {
        for (long off = 0; off < bytes; off += CHUNK) {
            long n = Math.min(CHUNK, bytes - off);
            MemorySegment part = src.asSlice(off, n);
            Pointer host = part.isNative() ? Pointer.to(part.asByteBuffer())
                    : Pointer.to(part.toArray(ValueLayout.JAVA_BYTE));
            check("cuMemcpyHtoD", jcuda.driver.JCudaDriver.cuMemcpyHtoD(ptr(dst + off), host, n));
        }
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes) {
        for (long off = 0; off < bytes; off += CHUNK) {
            long n = Math.min(CHUNK, bytes - off);
            MemorySegment part = dst.asSlice(off, n);
            if (part.isNative()) {
                ByteBuffer bb = part.asByteBuffer();
                check("cuMemcpyDtoH", jcuda.driver.JCudaDriver.cuMemcpyDtoH(Pointer.to(bb), ptr(src + off), n));
            } else {
                byte[] tmp = new byte[(int) n];
                check("cuMemcpyDtoH", jcuda.driver.JCudaDriver.cuMemcpyDtoH(Pointer.to(tmp), ptr(src + off), n));
                MemorySegment.copy(MemorySegment.ofArray(tmp), 0, part, 0, n);
            }
        }
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        check("cuMemcpyDtoD", jcuda.driver.JCudaDriver.cuMemcpyDtoD(ptr(dst), ptr(src), bytes));
    }

    @Override
    public void memset(long dst, byte value, long bytes) {
        check("cuMemsetD8", jcuda.driver.JCudaDriver.cuMemsetD8(ptr(dst), value, bytes));
    }

    @Override
    public void launch(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream) {
        Pointer[] slots = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            slots[i] = Pointer.to(new long[] {args[i]});
        }
        check("cuLaunchKernel", jcuda.driver.JCudaDriver.cuLaunchKernel(wrap(new CUfunction(), function),
                grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes, stream(stream),
                Pointer.to(slots), null));
    }

    @Override
    public void launchDependent(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream) {
        // the same driver library and this thread's current context: JCuda's handles are the driver's pointers
        if (dependent.isPresent()) {
            dependent.get().launch(function, grid, block, sharedBytes, args, stream);
        } else {
            launch(function, grid, block, sharedBytes, args, stream);
        }
    }

    @Override
    public int maxActiveBlocksPerSm(long function, int blockThreads, int dynamicSharedBytes) {
        int[] n = new int[1];
        check("cuOccupancyMaxActiveBlocksPerMultiprocessor", jcuda.driver.JCudaDriver
                .cuOccupancyMaxActiveBlocksPerMultiprocessor(n, wrap(new CUfunction(), function), blockThreads,
                        dynamicSharedBytes));
        return n[0];
    }

    private static CUstream stream(long h) {
        return h == 0 ? null : wrap(new CUstream(), h);
    }

    @Override
    public long createStream() {
        CUstream s = new CUstream();
        check("cuStreamCreate", jcuda.driver.JCudaDriver.cuStreamCreate(s, jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING));
        return handle(s);
    }

    @Override
    public void destroyStream(long stream) {
        check("cuStreamDestroy", jcuda.driver.JCudaDriver.cuStreamDestroy(wrap(new CUstream(), stream)));
    }

    @Override
    public void recordEvent(long event, long stream) {
        check("cuEventRecord", jcuda.driver.JCudaDriver.cuEventRecord(wrap(new CUevent(), event), stream(stream)));
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        check("cuStreamWaitEvent", jcuda.driver.JCudaDriver.cuStreamWaitEvent(stream(stream), wrap(new CUevent(), event), 0));
    }

    @Override
    public long createSyncEvent() {
        return event(jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING);
    }

    @Override
    public void synchronize() {
        check("cuCtxSynchronize", jcuda.driver.JCudaDriver.cuCtxSynchronize());
    }

    @Override
    public long[] memoryInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        check("cuMemGetInfo", jcuda.driver.JCudaDriver.cuMemGetInfo(free, total));
        return new long[] {free[0], total[0]};
    }

    @Override
    public long createEvent() {
        return event(0);
    }

    private long event(int flags) {
        CUevent e = new CUevent();
        check("cuEventCreate", jcuda.driver.JCudaDriver.cuEventCreate(e, flags));
        return handle(e);
    }

    @Override
    public float elapsedMillis(long start, long end) {
        CUevent e = wrap(new CUevent(), end);
        check("cuEventSynchronize", jcuda.driver.JCudaDriver.cuEventSynchronize(e));
        float[] ms = new float[1];
        check("cuEventElapsedTime", jcuda.driver.JCudaDriver.cuEventElapsedTime(ms, wrap(new CUevent(), start), e));
        return ms[0];
    }

    @Override
    public void destroyEvent(long event) {
        check("cuEventDestroy", jcuda.driver.JCudaDriver.cuEventDestroy(wrap(new CUevent(), event)));
    }
}
