package dev.nibble.backend.opencl;

import static org.jocl.CL.CL_DEVICE_EXTENSIONS;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_SINGLE_FP_CONFIG;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_VENDOR;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_DRIVER_VERSION;
import static org.jocl.CL.CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.CL_PLATFORM_VERSION;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** Lists OpenCL platforms and devices through JOCL. Loads the natives on first use. */
final class ClPlatformScan {
    private static final int CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV = 0x4000;
    private static final int CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV = 0x4001;

    /** @param platforms platform name and version per platform index @param devices every device */
    record Result(List<String> platforms, List<ClDeviceFacts> devices) {
    }

    private ClPlatformScan() {
    }

    /**
     * @return every platform and device
     * @throws LinkageError if JOCL's native library or libOpenCL cannot be loaded
     * @throws CLException if the ICD loader fails
     */
    static Result scan() {
        CL.setExceptionsEnabled(true);
        int[] n = new int[1];
        try {
            CL.clGetPlatformIDs(0, null, n);
        } catch (CLException e) {
            // CL_PLATFORM_NOT_FOUND_KHR (-1001): an ICD loader without any vendor driver
            if (e.getStatus() == -1001) {
                return new Result(List.of(), List.of());
            }
            throw e;
        }
        cl_platform_id[] ps = new cl_platform_id[n[0]];
        if (n[0] > 0) {
            CL.clGetPlatformIDs(n[0], ps, null);
        }
        List<String> platforms = new ArrayList<>();
        List<ClDeviceFacts> devices = new ArrayList<>();
        for (int p = 0; p < ps.length; p++) {
            String pname = platformString(ps[p], CL_PLATFORM_NAME);
            platforms.add(pname + " (" + platformString(ps[p], CL_PLATFORM_VERSION) + ")");
            int[] nd = new int[1];
            try {
                CL.clGetDeviceIDs(ps[p], CL_DEVICE_TYPE_ALL, 0, null, nd);
            } catch (CLException e) {
                continue; // CL_DEVICE_NOT_FOUND: a platform without devices
            }
            cl_device_id[] ds = new cl_device_id[nd[0]];
            CL.clGetDeviceIDs(ps[p], CL_DEVICE_TYPE_ALL, nd[0], ds, null);
            for (int d = 0; d < ds.length; d++) {
                devices.add(facts(p, d, ps[p], pname, ds[d]));
            }
        }
        return new Result(platforms, devices);
    }

    private static ClDeviceFacts facts(int p, int d, cl_platform_id platform, String pname, cl_device_id dev) {
        String ext = deviceString(dev, CL_DEVICE_EXTENSIONS);
        long fp = deviceLong(dev, CL_DEVICE_SINGLE_FP_CONFIG);
        int cc = 0;
        if (ext.contains("cl_nv_device_attribute_query")) {
            try {
                cc = deviceInt(dev, CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV) * 10
                        + deviceInt(dev, CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV);
            } catch (CLException e) {
                cc = 0;
            }
        }
        return new ClDeviceFacts(p, d, platform, dev, pname, deviceString(dev, CL_DEVICE_NAME),
                deviceString(dev, CL_DEVICE_VENDOR), deviceString(dev, CL_DEVICE_VERSION),
                deviceString(dev, CL_DRIVER_VERSION), ext, deviceLong(dev, CL_DEVICE_GLOBAL_MEM_SIZE),
                deviceLong(dev, CL_DEVICE_LOCAL_MEM_SIZE), deviceLong(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceSize(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE), deviceInt(dev, CL_DEVICE_MAX_COMPUTE_UNITS),
                (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0, cc,
                (deviceLong(dev, org.jocl.CL.CL_DEVICE_TYPE) & org.jocl.CL.CL_DEVICE_TYPE_CPU) != 0);
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] b) {
        int len = 0;
        while (len < b.length && b[len] != 0) {
            len++;
        }
        return new String(b, 0, len, StandardCharsets.UTF_8).trim();
    }
}
