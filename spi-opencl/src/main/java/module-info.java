/**
 * OpenCL backend on JOCL: PoCL on CPUs, NVIDIA, AMD and Intel GPUs. Exports nothing; found through
 * {@link dev.nibble.api.backend.KernelBackendProvider}.
 */
module dev.nibble.backend.opencl {
    requires dev.nibble.api;
    // JOCL's jar has no Automatic-Module-Name: its automatic module name comes from the file name
    requires jocl;

    provides dev.nibble.api.backend.KernelBackendProvider with dev.nibble.backend.opencl.OpenClBackendProvider;
}
