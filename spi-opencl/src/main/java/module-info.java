/** OpenCL backend on JOCL. */
module dev.nibble.backend.opencl {
    requires dev.nibble.api;
}
