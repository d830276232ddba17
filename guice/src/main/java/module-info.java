/** Guice integration: {@link dev.nibble.guice.NibbleModule} binds the selected backend, the methods and the configuration. */
module dev.nibble.guice {
    requires transitive dev.nibble.api;
    requires transitive com.google.guice;
    requires static org.apiguardian.api;

    exports dev.nibble.guice;
    // Guice builds providers and reads @Provides methods reflectively
    opens dev.nibble.guice to com.google.guice;
}
