/** The nibble command line. */
module dev.nibble.cli {
    requires dev.nibble.api;
    requires dev.nibble.model;
    requires info.picocli;
    requires dev.nibble.conformance;
    requires dev.nibble.methods;

    // picocli injects options reflectively; JUnit (a named module here, through the conformance kit) runs the tests
    opens dev.nibble.cli to info.picocli, org.junit.platform.commons;
}
