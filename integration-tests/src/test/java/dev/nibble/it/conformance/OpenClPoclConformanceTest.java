package dev.nibble.it.conformance;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.ProviderStatus;
import dev.nibble.conformance.BackendConformance;
import java.util.Locale;
import java.util.Optional;

/**
 * The whole conformance kit against the OpenCL backend on PoCL (the CPU OpenCL of CI), found through
 * discovery. Skipped, with the probe's reason, where no OpenCL platform is installed; on a machine
 * whose only OpenCL device is not PoCL it runs on that device.
 */
class OpenClPoclConformanceTest extends BackendConformance {
    @Override
    protected KernelBackend openBackend() {
        Optional<ProviderStatus> opencl = Backends.available().stream().filter(p -> p.id().equals("opencl")).findFirst();
        assumeTrue(opencl.isPresent(), "the OpenCL provider is not on the class path");
        ProviderStatus s = opencl.get();
        assumeTrue(s.available(), () -> "no OpenCL device: " + s.probe().reason() + " — " + s.probe().remedy());
        DeviceInfo device = s.probe().devices().stream()
                .filter(d -> d.properties().getOrDefault("platform", "").toLowerCase(Locale.ROOT).contains("portable computing language"))
                .findFirst().orElse(s.probe().devices().getFirst());
        return Backends.open(device.id());
    }
}
