package dev.nibble.backend.cuda.driver;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The driver through the FFM API on libcuda.so.1: no JNI library needed, so it works wherever the
 * NVIDIA driver does (linux-aarch64 / Jetson included). Handles and device pointers are 64-bit.
 */
public final class FfmBinding implements Driver {

    /**
     * One driver function: the names to try (versioned first) and its C signature.
     *
     * @param key the name the binding uses
     * @param symbols exported names to try, in order
     * @param descriptor the C signature (every function returns CUresult)
     */
    public record Entry(String key, List<String> symbols, FunctionDescriptor descriptor) {
    }

    private static final FunctionDescriptor R_I = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final FunctionDescriptor R_A = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor R_AI = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final FunctionDescriptor R_L = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
    /** CU_STREAM_NON_BLOCKING, CU_EVENT_DISABLE_TIMING (cuda.h) */
    private static final int STREAM_NON_BLOCKING = 1;
    private static final int EVENT_DISABLE_TIMING = 2;
    private static final FunctionDescriptor R_AA = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);

    /** Every function the binding calls, in one table (checked by a test on every machine). */
    public static final List<Entry> TABLE = List.of(
            e("cuInit", R_I, "cuInit"),
            e("cuDriverGetVersion", R_A, "cuDriverGetVersion"),
            e("cuDeviceGetCount", R_A, "cuDeviceGetCount"),
            e("cuDeviceGet", R_AI, "cuDeviceGet"),
            e("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetName"),
            e("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetAttribute"),
            e("cuDeviceTotalMem", R_AI, "cuDeviceTotalMem_v2", "cuDeviceTotalMem"),
            e("cuDevicePrimaryCtxRetain", R_AI, "cuDevicePrimaryCtxRetain"),
            e("cuDevicePrimaryCtxRelease", R_I, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
            e("cuCtxSetCurrent", R_L, "cuCtxSetCurrent"),
            e("cuModuleLoadData", R_AA, "cuModuleLoadData"),
            e("cuModuleUnload", R_L, "cuModuleUnload"),
            e("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS), "cuModuleGetFunction"),
            e("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT), "cuFuncSetAttribute"),
            e("cuMemAlloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "cuMemAlloc_v2"),
            e("cuMemFree", R_L, "cuMemFree_v2"),
            e("cuMemcpyHtoD", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG), "cuMemcpyHtoD_v2"),
            e("cuMemcpyDtoH", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), "cuMemcpyDtoH_v2"),
            e("cuMemcpyDtoD", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG), "cuMemcpyDtoD_v2"),
            e("cuMemsetD8", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG), "cuMemsetD8_v2"),
            e("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), "cuLaunchKernel"),
            e("cuCtxSynchronize", FunctionDescriptor.of(JAVA_INT), "cuCtxSynchronize"),
            e("cuMemGetInfo", R_AA, "cuMemGetInfo_v2"),
            e("cuEventCreate", R_AI, "cuEventCreate"),
            e("cuEventRecord", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), "cuEventRecord"),
            e("cuEventSynchronize", R_L, "cuEventSynchronize"),
            e("cuEventElapsedTime", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG),
                    "cuEventElapsedTime", "cuEventElapsedTime_v2"),
            e("cuEventDestroy", R_L, "cuEventDestroy_v2", "cuEventDestroy"),
            e("cuStreamCreate", R_AI, "cuStreamCreate"),
            e("cuStreamDestroy", R_L, "cuStreamDestroy_v2", "cuStreamDestroy"),
            e("cuStreamWaitEvent", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), "cuStreamWaitEvent"),
            e("cuOccupancyMaxActiveBlocksPerMultiprocessor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                    JAVA_LONG), "cuOccupancyMaxActiveBlocksPerMultiprocessor"));

    private static Entry e(String key, FunctionDescriptor d, String... symbols) {
        return new Entry(key, List.of(symbols), d);
    }

    private final Map<String, MethodHandle> h = new LinkedHashMap<>();
    /** cuLaunchKernelEx, optional: drivers before CUDA 11.8 lack it (then dependent launches are plain ones) */
    private final Optional<DependentLaunch> dependent;

    /**
     * @param lookup the symbols of libcuda (from {@link Drivers#cudaLibrary()})
     * @throws IllegalStateException naming the first function the library does not export
     */
    public FfmBinding(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        for (Entry en : TABLE) {
            MemorySegment sym = null;
            for (String s : en.symbols()) {
                sym = lookup.find(s).orElse(null);
                if (sym != null) {
                    break;
                }
            }
            if (sym == null) {
                throw new IllegalStateException("the CUDA driver library does not export " + en.symbols());
            }
            h.put(en.key(), linker.downcallHandle(sym, en.descriptor()));
        }
        dependent = DependentLaunch.find(lookup);
    }

    private int call(String key, Object... args) {
        try {
            return (int) h.get(key).invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(key, t);
        }
    }

    private void check(String key, Object... args) {
        int rc = call(key, args);
        if (rc != 0) {
            throw new CudaException(key, rc);
        }
    }

    @Override
    public String binding() {
        return "ffm";
    }

    @Override
    public void init() {
        check("cuInit", 0);
    }

    private int intOut(String key, Object... rest) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            Object[] args = prepend(out, rest);
            check(key, args);
            return out.get(JAVA_INT, 0);
        }
    }

    private long longOut(String key, Object... rest) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check(key, prepend(out, rest));
            return out.get(JAVA_LONG, 0);
        }
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    @Override
    public int driverVersion() {
        return intOut("cuDriverGetVersion");
    }

    @Override
    public int deviceCount() {
        return intOut("cuDeviceGetCount");
    }

    private int device(int ordinal) {
        return intOut("cuDeviceGet", ordinal);
    }

    @Override
    public String deviceName(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            check("cuDeviceGetName", buf, 256, device(ordinal));
            return buf.getString(0);
        }
    }

    @Override
    public int attribute(int ordinal, int attribute) {
        return intOut("cuDeviceGetAttribute", attribute, device(ordinal));
    }

    @Override
    public long totalMemory(int ordinal) {
        return longOut("cuDeviceTotalMem", device(ordinal));
    }

    @Override
    public long retainPrimaryContext(int ordinal) {
        return longOut("cuDevicePrimaryCtxRetain", device(ordinal));
    }

    @Override
    public void releasePrimaryContext(int ordinal) {
        check("cuDevicePrimaryCtxRelease", device(ordinal));
    }

    @Override
    public void setCurrent(long context) {
        check("cuCtxSetCurrent", context);
    }

    @Override
    public long loadModule(byte[] image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment img = a.allocate(image.length + 1L, 16);
            MemorySegment.copy(MemorySegment.ofArray(image), 0, img, 0, image.length);
            return longOut("cuModuleLoadData", img);
        }
    }

    @Override
    public void unloadModule(long module) {
        check("cuModuleUnload", module);
    }

    @Override
    public long function(long module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            int rc = call("cuModuleGetFunction", out, module, a.allocateFrom(name));
            if (rc != 0) {
                throw new CudaException("cuModuleGetFunction(" + name + ")", rc);
            }
            return out.get(JAVA_LONG, 0);
        }
    }

    @Override
    public void setFunctionAttribute(long function, int attribute, int value) {
        check("cuFuncSetAttribute", function, attribute, value);
    }

    @Override
    public long malloc(long bytes) {
        return longOut("cuMemAlloc", bytes);
    }

    @Override
    public void free(long pointer) {
        check("cuMemFree", pointer);
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes) {
        if (src.isNative()) {
            check("cuMemcpyHtoD", dst, src, bytes);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, bytes), 16);
            MemorySegment.copy(src, 0, tmp, 0, bytes);
            check("cuMemcpyHtoD", dst, tmp, bytes);
        }
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes) {
        if (dst.isNative()) {
            check("cuMemcpyDtoH", dst, src, bytes);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, bytes), 16);
            check("cuMemcpyDtoH", tmp, src, bytes);
            MemorySegment.copy(tmp, 0, dst, 0, bytes);
        }
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes) {
        check("cuMemcpyDtoD", dst, src, bytes);
    }

    @Override
    public void memset(long dst, byte value, long bytes) {
        check("cuMemsetD8", dst, value, bytes);
    }

    @Override
    public void launch(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream) {
        try (Arena a = Arena.ofConfined()) {
            check("cuLaunchKernel", function, grid[0], grid[1], grid[2], block[0], block[1], block[2], sharedBytes,
                    stream, DependentLaunch.kernelParams(a, args), MemorySegment.NULL);
        }
    }

    @Override
    public void launchDependent(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream) {
        if (dependent.isPresent()) {
            dependent.get().launch(function, grid, block, sharedBytes, args, stream);
        } else {
            launch(function, grid, block, sharedBytes, args, stream);
        }
    }

    @Override
    public int maxActiveBlocksPerSm(long function, int blockThreads, int dynamicSharedBytes) {
        return intOut("cuOccupancyMaxActiveBlocksPerMultiprocessor", function, blockThreads, (long) dynamicSharedBytes);
    }

    @Override
    public void synchronize() {
        check("cuCtxSynchronize");
    }

    @Override
    public long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG);
            MemorySegment t = a.allocate(JAVA_LONG);
            check("cuMemGetInfo", f, t);
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        }
    }

    @Override
    public long createEvent() {
        return longOut("cuEventCreate", 0);
    }

    @Override
    public float elapsedMillis(long start, long end) {
        check("cuEventSynchronize", end);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", ms, start, end);
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    @Override
    public void destroyEvent(long event) {
        check("cuEventDestroy", event);
    }

    @Override
    public long createStream() {
        return longOut("cuStreamCreate", STREAM_NON_BLOCKING);
    }

    @Override
    public void destroyStream(long stream) {
        check("cuStreamDestroy", stream);
    }

    @Override
    public void recordEvent(long event, long stream) {
        check("cuEventRecord", event, stream);
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        check("cuStreamWaitEvent", stream, event, 0);
    }

    @Override
    public long createSyncEvent() {
        return longOut("cuEventCreate", EVENT_DISABLE_TIMING);
    }
}
