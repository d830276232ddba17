/** An independent float64 reference and the JUnit 5 suite any backend runs. */
module dev.nibble.conformance {
    requires dev.nibble.api;
}
