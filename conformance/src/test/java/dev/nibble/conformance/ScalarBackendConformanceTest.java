package dev.nibble.conformance;

import dev.nibble.api.backend.KernelBackend;

/** The kit against an independent scalar backend built on the API's canonical numerics: it must pass. */
class ScalarBackendConformanceTest extends BackendConformance {
    @Override
    protected KernelBackend openBackend() {
        return new ScalarBackend();
    }
}
