/** Vector API backend, multithreaded; the default everywhere. */
module dev.nibble.backend.cpu {
    requires dev.nibble.api;
}
