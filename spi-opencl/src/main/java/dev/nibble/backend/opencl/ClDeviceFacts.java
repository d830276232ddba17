package dev.nibble.backend.opencl;

import java.util.Locale;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * What one OpenCL device says about itself, read once by {@link ClPlatformScan}.
 *
 * @param platformIndex index of the platform in clGetPlatformIDs
 * @param deviceIndex index of the device in its platform
 * @param platform the platform handle
 * @param device the device handle
 * @param platformName CL_PLATFORM_NAME
 * @param name CL_DEVICE_NAME
 * @param vendor CL_DEVICE_VENDOR
 * @param version CL_DEVICE_VERSION
 * @param driverVersion CL_DRIVER_VERSION
 * @param extensions CL_DEVICE_EXTENSIONS
 * @param globalMemBytes CL_DEVICE_GLOBAL_MEM_SIZE
 * @param localMemBytes CL_DEVICE_LOCAL_MEM_SIZE
 * @param maxAllocBytes CL_DEVICE_MAX_MEM_ALLOC_SIZE
 * @param maxWorkGroupSize CL_DEVICE_MAX_WORK_GROUP_SIZE
 * @param computeUnits CL_DEVICE_MAX_COMPUTE_UNITS
 * @param correctlyRoundedDivide CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT in CL_DEVICE_SINGLE_FP_CONFIG
 * @param nvidiaComputeCapability major*10+minor from cl_nv_device_attribute_query, or 0
 * @param cpu CL_DEVICE_TYPE_CPU
 */
record ClDeviceFacts(int platformIndex, int deviceIndex, cl_platform_id platform, cl_device_id device,
        String platformName, String name, String vendor, String version, String driverVersion, String extensions,
        long globalMemBytes, long localMemBytes, long maxAllocBytes, long maxWorkGroupSize, int computeUnits,
        boolean correctlyRoundedDivide, int nvidiaComputeCapability, boolean cpu) {

    /** @return the device id {@code opencl:<platform>:<device>} */
    String id() {
        return "opencl:" + platformIndex + ":" + deviceIndex;
    }

    boolean hasExtension(String ext) {
        for (String e : extensions.split("\\s+")) {
            if (e.equals(ext)) {
                return true;
            }
        }
        return false;
    }

    boolean isNvidia() {
        return vendor.toUpperCase(Locale.ROOT).contains("NVIDIA") || platformName.toUpperCase(Locale.ROOT).contains("NVIDIA");
    }

    /** @return true where quantization can divide exactly: CR division, or double precision */
    boolean exactDivision() {
        return correctlyRoundedDivide || hasExtension("cl_khr_fp64");
    }

    /** @return how the integer GEMM kernels compute 4-way byte dot products on this device */
    DotProduct dotProduct() {
        if (isNvidia() && nvidiaComputeCapability >= 61) {
            return DotProduct.NVIDIA_DP4A;
        }
        if (hasExtension("cl_khr_integer_dot_product")) {
            return DotProduct.KHR_INTEGER_DOT_PRODUCT;
        }
        return DotProduct.PORTABLE;
    }

    /** How 4-way signed byte dot products are computed. */
    enum DotProduct {
        /** inline PTX dp4a.s32.s32 (NVIDIA, compute capability 6.1+). */
        NVIDIA_DP4A("-DNIBBLE_NV_DP4A", "inline PTX dp4a"),
        /** dot(char4, char4) of cl_khr_integer_dot_product. */
        KHR_INTEGER_DOT_PRODUCT("-DNIBBLE_KHR_DOT", "cl_khr_integer_dot_product"),
        /** four multiply-adds in C. */
        PORTABLE("", "portable multiply-add");

        final String define;
        final String label;

        DotProduct(String define, String label) {
            this.define = define;
            this.label = label;
        }
    }
}
