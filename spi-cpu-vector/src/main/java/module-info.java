/**
 * Vector API backend, multithreaded; the default everywhere. Exports nothing: it is found through
 * {@link dev.nibble.api.backend.KernelBackendProvider}. The Vector API is optional at run time
 * ({@code requires static}): without {@code --add-modules jdk.incubator.vector} the backend runs
 * scalar loops and its probe says so.
 */
module dev.nibble.backend.cpu {
    requires dev.nibble.api;
    requires static jdk.incubator.vector;
    requires static java.management;

    provides dev.nibble.api.backend.KernelBackendProvider with dev.nibble.backend.cpu.CpuBackendProvider;
}
