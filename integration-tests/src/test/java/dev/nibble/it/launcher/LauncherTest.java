package dev.nibble.it.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.it.NibbleProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The distribution's {@code bin/nibble} script, started the way a user starts it. */
class LauncherTest {
    @Test
    void startsOnTheJavaInJavaHome() throws Exception {
        NibbleProcess.Result r = NibbleProcess.launcher(Map.of("JAVA_HOME", System.getProperty("java.home")), "methods");
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).as(r.all()).contains("convrot").contains("svdquant");
    }

    @Test
    void anOlderJavaGetsAClearErrorNotAModuleFindException(@TempDir Path home) throws Exception {
        // a stand-in for a JDK 17 installation: its java only answers -version
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));

        NibbleProcess.Result r = NibbleProcess.launcher(Map.of("JAVA_HOME", home.toString()), "methods");

        assertThat(r.exitCode()).as(r.all()).isEqualTo(2);
        assertThat(r.stderr()).as(r.all()).contains("needs Java 25 or newer").contains("17.0.15").contains("JAVA_HOME");
    }
}
