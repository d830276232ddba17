/**
 * CUDA backend: PTX/cubin kernels built by nvcc, loaded through the CUDA driver API, reached either
 * through JCuda's JNI binding or through the FFM API (java.lang.foreign) when JCuda's native library
 * cannot load (e.g. linux-aarch64 / Jetson). Exports nothing: found through ServiceLoader.
 */
module dev.nibble.backend.cuda {
    requires dev.nibble.api;
    requires jcuda;

    provides dev.nibble.api.backend.KernelBackendProvider with dev.nibble.backend.cuda.CudaBackendProvider;
}
