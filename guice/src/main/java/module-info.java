/** NibbleModule for applications assembled with Guice. */
module dev.nibble.guice {
    requires dev.nibble.api;
}
