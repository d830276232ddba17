package dev.nibble.it.conformance;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.conformance.BackendConformance;

/** The whole conformance kit against the CPU backend, found through discovery on the class path. */
class CpuConformanceTest extends BackendConformance {
    @Override
    protected KernelBackend openBackend() {
        return Backends.open("cpu");
    }
}
