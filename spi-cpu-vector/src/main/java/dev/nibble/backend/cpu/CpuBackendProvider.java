package dev.nibble.backend.cpu;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.backend.BackendProbe;
import dev.nibble.api.backend.BackendUnavailableException;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.KernelBackendProvider;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CPU backend provider: id {@code cpu}, priority 10, one device {@code cpu}. Always available;
 * without the Vector API (module not resolved, C2 off) it runs scalar loops and its probe's
 * {@code reason} says so with the flag that fixes it.
 *
 * <p>Options of {@link #open}: {@code threads} (pool size, default: available processors) and
 * {@code scalar=true} (force the scalar loops, as the system property {@code nibble.cpu.scalar=true}
 * does).
 */
public final class CpuBackendProvider implements KernelBackendProvider {
    private static final System.Logger LOG = System.getLogger("dev.nibble.backend.cpu");

    /** Creates the provider; cheap, looks at nothing until {@link #probe()}. */
    public CpuBackendProvider() {
    }

    @Override
    public String id() {
        return "cpu";
    }

    @Override
    public String description() {
        return "CPU: Java Vector API kernels (scalar loops without jdk.incubator.vector), multithreaded";
    }

    @Override
    public int priority() {
        return 10;
    }

    /** @return every capability of the CPU device */
    static Set<Capability> capabilities() {
        Set<Capability> c = new LinkedHashSet<>();
        for (Capability.RotationKind k : Capability.RotationKind.values()) {
            c.add(new Capability.Rotate(k));
        }
        c.add(new Capability.SmoothShift());
        c.add(new Capability.Quantize(4));
        c.add(new Capability.Quantize(8));
        c.add(new Capability.QuantizeNf4());
        for (int a : new int[] {4, 8}) {
            for (int w : new int[] {4, 8}) {
                c.add(new Capability.IntGemm(a, w, true));
            }
        }
        for (DType t : new DType[] {DType.INT4, DType.UINT4, DType.I8, DType.U8, DType.NF4}) {
            c.add(new Capability.WeightOnlyGemm(t));
        }
        c.add(new Capability.FloatGemm());
        c.add(new Capability.LowRankBranch(CpuPreparedLinear.MAX_RANK));
        c.add(new Capability.DitOps());
        return c;
    }

    @Override
    public BackendProbe probe() {
        try {
            CpuPlatform p = CpuPlatform.detect();
            int threads = Runtime.getRuntime().availableProcessors();
            Map<String, String> details = p.details(threads);
            DeviceInfo dev = device(p, details);
            String reason = "";
            String remedy = "";
            if (CpuPlatform.scalarForced()) {
                reason = "scalar loops forced by -D" + CpuPlatform.SCALAR_PROPERTY + "=true";
                remedy = "remove -D" + CpuPlatform.SCALAR_PROPERTY + "=true";
            } else if (!p.vector()) {
                reason = "running scalar loops (slow): " + p.reason();
                remedy = p.remedy();
            }
            return new BackendProbe(true, reason, remedy, List.of(dev), details);
        } catch (RuntimeException | LinkageError e) {
            return BackendProbe.unavailable("the CPU backend failed to start: " + e,
                    "report this with the output of 'nibble backends -v'", Map.of());
        }
    }

    private static DeviceInfo device(CpuPlatform p, Map<String, String> details) {
        Map<String, String> props = new LinkedHashMap<>(details);
        String name = System.getProperty("os.arch", "cpu") + " CPU, " + Runtime.getRuntime().availableProcessors()
                + " cores, " + (p.vector() ? p.vectorBits() + "-bit vectors" : "scalar");
        return new DeviceInfo("cpu", name, Runtime.getRuntime().maxMemory(), capabilities(), props);
    }

    @Override
    public KernelBackend open(DeviceInfo device, Map<String, String> options) {
        if (device != null && !"cpu".equals(device.id())) {
            throw new BackendUnavailableException("cpu", "the cpu backend has no device '" + device.id() + "'",
                    "use the device id 'cpu'");
        }
        Map<String, String> opts = options == null ? Map.of() : options;
        int threads = Runtime.getRuntime().availableProcessors();
        String t = opts.get("threads");
        if (t != null) {
            try {
                threads = Integer.parseInt(t.trim());
            } catch (NumberFormatException e) {
                throw new InvalidInputException("option threads must be a positive integer, got '" + t + "'");
            }
            if (threads < 1) {
                throw new InvalidInputException("option threads must be a positive integer, got '" + t + "'");
            }
        }
        CpuPlatform p = CpuPlatform.detect();
        boolean forced = CpuPlatform.scalarForced() || Boolean.parseBoolean(opts.getOrDefault("scalar", "false"));
        boolean vector = p.vector() && !forced;
        if (!vector) {
            LOG.log(System.Logger.Level.WARNING, forced
                    ? "cpu backend: scalar loops forced (" + CpuPlatform.SCALAR_PROPERTY + "=true or option scalar=true)"
                    : "cpu backend: scalar loops, " + p.reason() + " [FIX] " + p.remedy());
        }
        DeviceInfo dev = device(p, p.details(threads));
        return new CpuKernelBackend(dev, threads, vector);
    }
}
