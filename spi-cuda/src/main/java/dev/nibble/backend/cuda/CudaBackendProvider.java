package dev.nibble.backend.cuda;

import dev.nibble.api.DType;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.KernelBackendProvider;
import dev.nibble.backend.cuda.driver.CudaException;
import dev.nibble.backend.cuda.driver.Driver;
import dev.nibble.backend.cuda.driver.Drivers;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The CUDA backend provider (priority 30). Construction loads nothing; {@link #probe()} looks for the
 * driver library, picks a binding (JCuda, else FFM), and lists every device with its compute
 * capability, memory and kernel path. It never throws.
 */
public final class CudaBackendProvider implements KernelBackendProvider {
    /** Oldest driver (cuDriverGetVersion) that loads the jar's cubins. */
    static final int MIN_DRIVER_CUBIN = 12000;
    /** Oldest driver that JIT-compiles the jar's PTX (built by nvcc 13). */
    static final int MIN_DRIVER_PTX = 13000;
    static final String REMEDY_DRIVER = "install the NVIDIA driver (R580 or newer for CUDA 13; see docs/backends/cuda.md)";

    private static volatile Driver shared;

    /** Public no-argument constructor for ServiceLoader. */
    public CudaBackendProvider() {
    }

    @Override
    public String id() {
        return "cuda";
    }

    @Override
    public String description() {
        return "NVIDIA GPUs through the CUDA driver API (JCuda or FFM): INT4/INT8 tensor-core kernels";
    }

    @Override
    public int priority() {
        return 30;
    }

    /** The capabilities of every supported device. */
    static Set<Capability> capabilities() {
        return Set.of(new Capability.Rotate(Capability.RotationKind.REGULAR_HADAMARD),
                new Capability.Rotate(Capability.RotationKind.SYLVESTER_HADAMARD),
                new Capability.Rotate(Capability.RotationKind.DENSE), new Capability.SmoothShift(),
                new Capability.Quantize(4), new Capability.Quantize(8), new Capability.QuantizeNf4(),
                new Capability.IntGemm(4, 4, true), new Capability.IntGemm(8, 8, true),
                new Capability.IntGemm(4, 8, true), new Capability.IntGemm(8, 4, true),
                new Capability.WeightOnlyGemm(DType.INT4), new Capability.WeightOnlyGemm(DType.UINT4),
                new Capability.WeightOnlyGemm(DType.I8), new Capability.WeightOnlyGemm(DType.NF4),
                new Capability.FloatGemm(), new Capability.LowRankBranch(4096), new Capability.DitOps());
    }

    /** The kernel path a device of this compute capability takes. */
    static String kernelPath(int major, int minor) {
        int sm = major * 10 + minor;
        String image = KernelImage.resourceFor(major, minor).replace(KernelImage.DIR, "");
        String int4 = major >= 9
                ? "INT4 kept packed, unpacked to INT8 in registers for mma.sync m16n8k32 (no fast s4 mma on sm_90)"
                : "INT4 on native mma.sync m16n8k64 s4";
        String wgmma = KernelImage.wgmmaFor(major, minor)
                .map(w -> "; per-row-scale and group-64 GEMMs on INT8 wgmma m64nNk32 (" + w.replace(KernelImage.DIR, "")
                        + "), fused per-row W8A8/W4A4 on tiled weights fed by bulk copies")
                .orElse("");
        return "sm_" + sm + " (" + image + "): INT8 mma.sync m16n8k32; " + int4 + wgmma;
    }

    @Override
    public BackendProbe probe() {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("os", System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
        details.put("driver library", Drivers.libraryName());
        try {
            Optional<SymbolLookup> lib = Drivers.cudaLibrary();
            if (lib.isEmpty()) {
                return BackendProbe.unavailable("no CUDA driver: " + Drivers.libraryName() + " not found",
                        REMEDY_DRIVER, details);
            }
            Driver d;
            try {
                d = driver(lib.get(), details);
            } catch (RuntimeException | LinkageError e) {
                return BackendProbe.unavailable("no usable binding to the CUDA driver: " + e.getMessage(),
                        "use -D" + Drivers.BINDING_PROPERTY + "=ffm with --enable-native-access=dev.nibble.backend.cuda,"
                                + " or add jcuda-natives for this OS/arch",
                        details);
            }
            details.put("binding", d.binding());
            int version;
            try {
                d.init();
                version = d.driverVersion();
            } catch (CudaException e) {
                if (e.code() == 100) {
                    return BackendProbe.unavailable("no CUDA device: " + e.getMessage(),
                            "check that an NVIDIA GPU is present and visible (CUDA_VISIBLE_DEVICES, nvidia-smi)", details);
                }
                return BackendProbe.unavailable("the CUDA driver failed to initialize: " + e.getMessage(), REMEDY_DRIVER,
                        details);
            }
            details.put("driver version", (version / 1000) + "." + (version % 1000 / 10));
            if (version < MIN_DRIVER_CUBIN) {
                return BackendProbe.unavailable("driver too old: CUDA " + details.get("driver version")
                        + ", the backend needs 12.0 or newer", REMEDY_DRIVER, details);
            }
            int count = d.deviceCount();
            List<DeviceInfo> devices = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int major = d.attribute(i, 75);
                int minor = d.attribute(i, 76);
                String name = d.deviceName(i);
                if (major < 8) {
                    skipped.add("cuda:" + i + " " + name + " (sm_" + major + minor + ": tensor-core kernels need sm_80+)");
                    continue;
                }
                boolean cubin = KernelImage.resourceFor(major, minor).endsWith(".cubin");
                if (!cubin && version < MIN_DRIVER_PTX) {
                    skipped.add("cuda:" + i + " " + name + " (sm_" + major + minor + " JIT-compiles PTX from nvcc 13:"
                            + " needs driver CUDA 13.0+)");
                    continue;
                }
                Map<String, String> props = new LinkedHashMap<>();
                props.put("compute capability", major + "." + minor);
                props.put("multiprocessors", Integer.toString(d.attribute(i, 16)));
                props.put("driver", details.get("driver version"));
                props.put("binding", d.binding());
                props.put("kernel path", kernelPath(major, minor));
                devices.add(new DeviceInfo("cuda:" + i, name, d.totalMemory(i), capabilities(), props));
            }
            if (!skipped.isEmpty()) {
                details.put("skipped devices", String.join("; ", skipped));
            }
            if (devices.isEmpty()) {
                return BackendProbe.unavailable(count == 0 ? "no CUDA device found"
                        : "no supported CUDA device: " + String.join("; ", skipped),
                        count == 0 ? "check that an NVIDIA GPU is present and visible (CUDA_VISIBLE_DEVICES)"
                                : "use an NVIDIA GPU of compute capability 8.0 or newer, or update the driver",
                        details);
            }
            return BackendProbe.available(devices, details);
        } catch (RuntimeException | LinkageError e) {
            return BackendProbe.unavailable("the CUDA probe failed: " + e, REMEDY_DRIVER, details);
        }
    }

    private static Driver driver(SymbolLookup lib, Map<String, String> details) {
        Driver d = shared;
        if (d == null) {
            synchronized (CudaBackendProvider.class) {
                if (shared == null) {
                    Drivers.Selection s = Drivers.select(lib);
                    if (!s.note().isEmpty()) {
                        System.getLogger("dev.nibble.backend.cuda").log(System.Logger.Level.INFO, s.note());
                        details.put("binding note", s.note());
                    }
                    shared = s.driver();
                }
                d = shared;
            }
        }
        return d;
    }

    @Override
    public KernelBackend open(DeviceInfo device, Map<String, String> options) {
        BackendProbe p = probe();
        if (!p.available()) {
            throw new BackendUnavailableException("cuda", p.reason(), p.remedy());
        }
        DeviceInfo found = p.devices().stream().filter(x -> x.id().equals(device.id())).findFirst()
                .orElseThrow(() -> new BackendUnavailableException(device.id(), "no such CUDA device",
                        "choose one of " + p.devices().stream().map(DeviceInfo::id).toList()));
        int ordinal = Integer.parseInt(found.id().substring("cuda:".length()));
        try {
            return new CudaBackend(shared, ordinal, found);
        } catch (CudaException e) {
            throw new BackendUnavailableException(found.id(), "cannot open " + found.name() + ": " + e.getMessage(),
                    REMEDY_DRIVER);
        }
    }
}
