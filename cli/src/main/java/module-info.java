/** The nibble command line. */
module dev.nibble.cli {
    requires dev.nibble.api;
    requires dev.nibble.model;
    requires info.picocli;
    requires dev.nibble.methods;

    opens dev.nibble.cli to info.picocli;
}
