package dev.nibble.backend.cuda.driver;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Programmatic dependent launch: cuLaunchKernelEx with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, so that a
 * kernel may be launched and run its prologue while the previous kernel on the stream finishes; the kernel waits
 * with griddepcontrol.wait before it reads that kernel's output. Through the FFM API for both bindings: JCuda 12.6.0 has
 * no cuLaunchKernelEx. The layouts are cuda.h's (CUDA 12 and 13).
 */
final class DependentLaunch {
    /** CUlaunchConfig: grid x, y, z, block x, y, z, sharedMemBytes (unsigned ints), hStream, attrs, numAttrs */
    static final long CONFIG_BYTES = 56;
    static final long STREAM_AT = 32;
    static final long ATTRS_AT = 40;
    static final long NUM_ATTRS_AT = 48;
    /** CUlaunchAttribute: id (an int), padding to 8, the value union (64 bytes) */
    static final long ATTRIBUTE_BYTES = 72;
    static final long VALUE_AT = 8;
    /** CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION */
    static final int PROGRAMMATIC_STREAM_SERIALIZATION = 6;

    private final MethodHandle launchEx;

    private DependentLaunch(MethodHandle launchEx) {
        this.launchEx = launchEx;
    }

    /** @return the launcher, or empty where the driver does not export cuLaunchKernelEx (before CUDA 11.8) */
    static Optional<DependentLaunch> find(SymbolLookup cuda) {
        return cuda.find("cuLaunchKernelEx").map(sym -> new DependentLaunch(Linker.nativeLinker().downcallHandle(sym,
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS))));
    }

    /** @return cuLaunchKernel's kernelParams: one pointer per 8-byte argument slot, allocated in {@code a} */
    static MemorySegment kernelParams(Arena a, long[] args) {
        int n = Math.max(1, args.length);
        MemorySegment slots = a.allocate(8L * n, 8);
        MemorySegment ptrs = a.allocate(8L * n, 8);
        for (int i = 0; i < args.length; i++) {
            slots.setAtIndex(JAVA_LONG, i, args[i]);
            ptrs.setAtIndex(ADDRESS, i, slots.asSlice(8L * i, 8));
        }
        return ptrs;
    }

    /** @return a CUlaunchConfig in {@code a} with the one attribute that allows the programmatic dependent launch */
    static MemorySegment config(Arena a, int[] grid, int[] block, int sharedBytes, long stream) {
        MemorySegment attr = a.allocate(ATTRIBUTE_BYTES, 8);
        attr.set(JAVA_INT, 0, PROGRAMMATIC_STREAM_SERIALIZATION);
        attr.set(JAVA_INT, VALUE_AT, 1);   // programmaticStreamSerializationAllowed
        MemorySegment c = a.allocate(CONFIG_BYTES, 8);
        for (int i = 0; i < 3; i++) {
            c.set(JAVA_INT, 4L * i, grid[i]);
            c.set(JAVA_INT, 12 + 4L * i, block[i]);
        }
        c.set(JAVA_INT, 24, sharedBytes);
        c.set(JAVA_LONG, STREAM_AT, stream);
        c.set(ADDRESS, ATTRS_AT, attr);
        c.set(JAVA_INT, NUM_ATTRS_AT, 1);
        return c;
    }

    /**
     * cuLaunchKernelEx, arguments as {@link Driver#launch}.
     *
     * @throws CudaException when the driver returns an error
     */
    void launch(long function, int[] grid, int[] block, int sharedBytes, long[] args, long stream) {
        int rc;
        try (Arena a = Arena.ofConfined()) {
            rc = (int) launchEx.invokeExact(config(a, grid, block, sharedBytes, stream), function, kernelParams(a, args),
                    MemorySegment.NULL);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cuLaunchKernelEx", t);
        }
        if (rc != 0) {
            throw new CudaException("cuLaunchKernelEx", rc);
        }
    }
}
