/**
 * The conformance kit: an independent float64 reference ({@code dev.nibble.conformance.reference})
 * and the JUnit 5 suite ({@link dev.nibble.conformance.BackendConformance}) that every kernel backend
 * runs, plus {@link dev.nibble.conformance.ConformanceRunner} to run it through the JUnit Platform
 * launcher. Also usable from the class path.
 */
module dev.nibble.conformance {
    requires transitive dev.nibble.api;
    requires transitive org.junit.jupiter.api;
    requires org.junit.platform.launcher;
    requires org.assertj.core;
    requires static org.apiguardian.api;

    exports dev.nibble.conformance;
    exports dev.nibble.conformance.reference;

    // JUnit discovers and invokes the suite's test factories reflectively
    opens dev.nibble.conformance to org.junit.platform.commons;
}
