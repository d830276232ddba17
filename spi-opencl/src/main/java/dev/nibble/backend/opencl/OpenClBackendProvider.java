package dev.nibble.backend.opencl;

import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.KernelBackendProvider;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The OpenCL provider: every platform and device the ICD loader knows. JOCL's natives are loaded on
 * the first {@link #probe()}, never at construction.
 */
public final class OpenClBackendProvider implements KernelBackendProvider {
    static final String REMEDY = "install an OpenCL ICD loader and a driver: on CPUs "
            + "'apt-get install ocl-icd-libopencl1 pocl-opencl-icd' (PoCL); on GPUs the vendor driver "
            + "(NVIDIA: the driver's libnvidia-opencl.so.1 registered in /etc/OpenCL/vendors/nvidia.icd; "
            + "AMD: ROCm's rocm-opencl-runtime; Intel: intel-opencl-icd)";

    /** Rank when a GPU or accelerator is present: above the CPU backend (10), below CUDA (30). */
    static final int PRIORITY_ACCELERATOR = 20;
    /**
     * Rank when every device is a CPU (PoCL): below the CPU backend, which is faster on the same
     * cores, so automatic selection keeps the CPU backend there; an explicit request still works.
     */
    static final int PRIORITY_CPU_ONLY = 5;

    private final Supplier<ClPlatformScan.Result> scanner;
    private volatile ClPlatformScan.Result scanned;
    private volatile Throwable scanFailure;

    /** Creates the provider; touches no native code. */
    public OpenClBackendProvider() {
        this(ClPlatformScan::scan);
    }

    /** @param scanner lists platforms and devices (tests inject failures here) */
    OpenClBackendProvider(Supplier<ClPlatformScan.Result> scanner) {
        this.scanner = scanner;
    }

    @Override
    public String id() {
        return "opencl";
    }

    @Override
    public String description() {
        return "OpenCL kernels through JOCL (PoCL on CPUs; NVIDIA, AMD, Intel GPUs)";
    }

    @Override
    public int priority() {
        try {
            return scan().devices().stream().anyMatch(f -> !f.cpu()) ? PRIORITY_ACCELERATOR : PRIORITY_CPU_ONLY;
        } catch (LinkageError | RuntimeException e) {
            return PRIORITY_ACCELERATOR; // the probe reports the failure; rank does not matter then
        }
    }

    /** One platform scan per provider instance: priority() and probe() share it. */
    private ClPlatformScan.Result scan() {
        ClPlatformScan.Result r = scanned;
        if (r == null) {
            // keep the first failure: a second touch of JOCL only says "Could not initialize class org.jocl.CL"
            Throwable failed = scanFailure;
            if (failed instanceof Error e) {
                throw e;
            } else if (failed instanceof RuntimeException e) {
                throw e;
            }
            try {
                r = scanner.get();
            } catch (LinkageError | RuntimeException e) {
                scanFailure = e;
                throw e;
            }
            scanned = r;
        }
        return r;
    }

    /** JOCL wraps the loader's error; its innermost message names the missing or broken file. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = String.valueOf(t.getMessage()).strip();
        int nl = m.indexOf('\n');
        return t.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }

    @Override
    public BackendProbe probe() {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("jocl", "2.0.6");
        ClPlatformScan.Result r;
        try {
            r = scan();
        } catch (LinkageError e) {
            details.put("error", e.toString());
            return BackendProbe.unavailable("the OpenCL library (libOpenCL.so.1, the ICD loader) could not be loaded: "
                    + rootMessage(e), REMEDY, details);
        } catch (RuntimeException e) {
            details.put("error", e.toString());
            return BackendProbe.unavailable("the OpenCL runtime failed while listing platforms: " + e, REMEDY, details);
        }
        for (int i = 0; i < r.platforms().size(); i++) {
            details.put("platform." + i, r.platforms().get(i));
        }
        if (r.devices().isEmpty()) {
            return BackendProbe.unavailable(r.platforms().isEmpty() ? "no OpenCL platform is installed"
                    : "the OpenCL platforms have no devices", REMEDY, details);
        }
        // accelerators first, so that automatic selection within OpenCL prefers a GPU over PoCL
        List<DeviceInfo> devices = new ArrayList<>();
        r.devices().stream().sorted(java.util.Comparator.comparing(ClDeviceFacts::cpu))
                .forEach(f -> devices.add(deviceInfo(f)));
        return BackendProbe.available(devices, details);
    }

    static DeviceInfo deviceInfo(ClDeviceFacts f) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("platform", f.platformName());
        p.put("vendor", f.vendor());
        p.put("openclVersion", f.version());
        p.put("driverVersion", f.driverVersion());
        p.put("computeUnits", Integer.toString(f.computeUnits()));
        p.put("globalMemoryBytes", Long.toString(f.globalMemBytes()));
        p.put("localMemoryBytes", Long.toString(f.localMemBytes()));
        p.put("maxAllocationBytes", Long.toString(f.maxAllocBytes()));
        p.put("maxWorkGroupSize", Long.toString(f.maxWorkGroupSize()));
        p.put("correctlyRoundedDivide", Boolean.toString(f.correctlyRoundedDivide()));
        p.put("division", f.correctlyRoundedDivide() ? "-cl-fp32-correctly-rounded-divide-sqrt"
                : f.hasExtension("cl_khr_fp64") ? "float32 quotient through double (correctly rounded)"
                : "not exact: quantization capabilities not offered");
        p.put("integerDotProduct", f.dotProduct().label);
        if (f.nvidiaComputeCapability() > 0) {
            p.put("computeCapability", f.nvidiaComputeCapability() / 10 + "." + f.nvidiaComputeCapability() % 10);
        }
        p.put("extensions", f.extensions());
        return new DeviceInfo(f.id(), f.name(), f.globalMemBytes(), ClCapabilities.of(f), p);
    }

    @Override
    public KernelBackend open(DeviceInfo device, Map<String, String> options) {
        ClPlatformScan.Result r;
        try {
            r = scanner.get();
        } catch (LinkageError | RuntimeException e) {
            throw new BackendUnavailableException(device.id(), "the OpenCL library could not be loaded: " + e, REMEDY);
        }
        for (ClDeviceFacts f : r.devices()) {
            if (f.id().equals(device.id())) {
                return new OpenClBackend(f, deviceInfo(f), options == null ? Map.of() : options);
            }
        }
        throw new BackendUnavailableException(device.id(), "no OpenCL device with this id; found "
                + r.devices().stream().map(ClDeviceFacts::id).toList(), "list the devices with 'nibble backends -v'");
    }
}
