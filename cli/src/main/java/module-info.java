/** The nibble command line. */
module dev.nibble.cli {
    requires dev.nibble.api;
    requires dev.nibble.model;
    requires info.picocli;

    opens dev.nibble.cli to info.picocli;
}
