/** CUDA backend on the JCuda driver API. */
module dev.nibble.backend.cuda {
    requires dev.nibble.api;
}
