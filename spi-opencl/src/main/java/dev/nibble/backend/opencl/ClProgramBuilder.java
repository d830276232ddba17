package dev.nibble.backend.opencl;

import dev.nibble.api.OutputWriteException;
import dev.nibble.api.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

/**
 * Builds the kernel program for a device: from source once per (device, driver, options), then from
 * the cached binary (in memory; on disk too when a cache directory is given).
 */
final class ClProgramBuilder {
    private static final System.Logger LOG = System.getLogger(ClProgramBuilder.class.getName());
    static final String SOURCE_RESOURCE = "nibble.cl";
    private static final Map<String, byte[]> BINARIES = new ConcurrentHashMap<>();
    private static volatile String source;

    /** @param program the built program @param options the options it was built with @param fromCache true if from a binary */
    record Built(cl_program program, String options, boolean fromCache) {
    }

    private ClProgramBuilder() {
    }

    static String source() {
        String s = source;
        if (s == null) {
            try (InputStream in = ClProgramBuilder.class.getResourceAsStream(SOURCE_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("kernel resource " + SOURCE_RESOURCE + " is missing from the jar");
                }
                s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            source = s;
        }
        return s;
    }

    /** @return the build options for a device and a dot-product flavour */
    static String options(ClDeviceFacts f, ClDeviceFacts.DotProduct dot) {
        return options(f, dot, false);
    }

    /**
     * @param forceFp64 divide through double even where float division is correctly rounded (to
     *     test that path on devices that have both)
     */
    static String options(ClDeviceFacts f, ClDeviceFacts.DotProduct dot, boolean forceFp64) {
        StringBuilder b = new StringBuilder();
        if (forceFp64 && f.hasExtension("cl_khr_fp64")) {
            b.append("-DNIBBLE_FP64_DIV");
        } else if (f.correctlyRoundedDivide()) {
            b.append("-cl-fp32-correctly-rounded-divide-sqrt");
        } else if (f.hasExtension("cl_khr_fp64")) {
            b.append("-DNIBBLE_FP64_DIV");
        }
        if (!dot.define.isEmpty()) {
            b.append(' ').append(dot.define);
        }
        if (dot == ClDeviceFacts.DotProduct.KHR_INTEGER_DOT_PRODUCT && f.version().startsWith("OpenCL 3")) {
            b.append(" -cl-std=CL3.0");
        }
        return b.toString().trim();
    }

    static Built build(cl_context ctx, ClDeviceFacts f, String options, Path cacheDir) {
        String key = cacheKey(f, options);
        byte[] bin = BINARIES.get(key);
        if (bin == null && cacheDir != null) {
            bin = readDisk(cacheDir, key);
        }
        if (bin != null) {
            try {
                cl_program p = fromBinary(ctx, f.device(), bin, options);
                BINARIES.putIfAbsent(key, bin);
                if (cacheDir != null && !Files.isRegularFile(cacheFile(cacheDir, key))) {
                    writeDisk(cacheDir, key, bin);
                }
                return new Built(p, options, true);
            } catch (CLException e) {
                LOG.log(System.Logger.Level.DEBUG, "cached OpenCL binary rejected, rebuilding from source", e);
                BINARIES.remove(key);
            }
        }
        cl_program p = CL.clCreateProgramWithSource(ctx, 1, new String[] {source()}, null, null);
        try {
            CL.clBuildProgram(p, 1, new cl_device_id[] {f.device()}, options, null, null);
        } catch (CLException e) {
            String log = buildLog(p, f.device());
            CL.clReleaseProgram(p);
            throw new ClBuildException("building the Nibble kernels for " + f.name() + " with '" + options + "' failed: "
                    + e.getMessage() + "\n" + log);
        }
        byte[] out = binary(p);
        if (out != null) {
            BINARIES.put(key, out);
            if (cacheDir != null) {
                writeDisk(cacheDir, key, out);
            }
        }
        return new Built(p, options, false);
    }

    /** The build failed; the message carries the compiler log. */
    static final class ClBuildException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ClBuildException(String message) {
            super(message);
        }
    }

    private static cl_program fromBinary(cl_context ctx, cl_device_id dev, byte[] bin, String options) {
        int[] status = new int[1];
        cl_program p = CL.clCreateProgramWithBinary(ctx, 1, new cl_device_id[] {dev}, new long[] {bin.length},
                new byte[][] {bin}, status, null);
        try {
            CL.clBuildProgram(p, 1, new cl_device_id[] {dev}, options, null, null);
        } catch (CLException e) {
            CL.clReleaseProgram(p);
            throw e;
        }
        return p;
    }

    private static byte[] binary(cl_program p) {
        try {
            long[] sizes = new long[1];
            CL.clGetProgramInfo(p, CL.CL_PROGRAM_BINARY_SIZES, Sizeof.size_t, Pointer.to(sizes), null);
            if (sizes[0] <= 0) {
                return null;
            }
            byte[] b = new byte[Math.toIntExact(sizes[0])];
            Pointer bp = Pointer.to(b);
            CL.clGetProgramInfo(p, CL.CL_PROGRAM_BINARIES, Sizeof.POINTER, Pointer.to(bp), null);
            return b;
        } catch (CLException | ArithmeticException e) {
            return null;
        }
    }

    static String buildLog(cl_program p, cl_device_id dev) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(p, dev, CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] b = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(p, dev, CL.CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
            return new String(b, StandardCharsets.UTF_8).trim();
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    /** The binary depends on the device, its driver, the source and the options. */
    static String cacheKey(ClDeviceFacts f, String options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String s : new String[] {f.platformName(), f.name(), f.vendor(), f.version(), f.driverVersion(),
                    options, source()}) {
                md.update(s.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] readDisk(Path dir, String key) {
        Path f = cacheFile(dir, key);
        try {
            return Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
        } catch (IOException e) {
            return null;
        }
    }

    static Path cacheFile(Path dir, String key) {
        return dir.resolve("nibble-" + key + ".clbin");
    }

    private static void writeDisk(Path dir, String key, byte[] bin) {
        try {
            AtomicFiles.write(cacheFile(dir, key), bin);
        } catch (OutputWriteException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not write the OpenCL binary cache in " + dir, e);
        }
    }
}
