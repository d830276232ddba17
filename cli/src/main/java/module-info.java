/** The nibble command and its distribution. */
module dev.nibble.cli {
    requires dev.nibble.api;
}
