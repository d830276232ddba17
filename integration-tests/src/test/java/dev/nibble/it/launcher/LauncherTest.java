package dev.nibble.it.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.it.NibbleProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

    @Test
    void passesTheProgressBarThroughWhileTheCommandRunsAndDropsOnlyTheVectorApiNotice(@TempDir Path home) throws Exception {
        // a stand-in java: the JDK's incubator notice, another warning, then a progress bar redrawn with \r and no
        // newline; it ends only once the test has seen that bar (or after 30 s)
        Path release = home.resolve("seen");
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, """
                #!/bin/bash
                if [ "$1" = -version ]; then echo 'openjdk version "25.0.1" 2025-10-21' >&2; exit 0; fi
                echo 'WARNING: Using incubator modules: jdk.incubator.vector' >&2
                echo 'WARNING: something else' >&2
                printf '\\reval [#.....] 10%%%% sampling fp32' >&2
                for i in $(seq 300); do [ -e "%s" ] && break; sleep 0.1; done
                printf '\\reval [######] 100%%%% done\\n' >&2
                """.formatted(release));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path err = home.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder("bash", NibbleProcess.dist().resolve("bin").resolve("nibble").toString(), "demo");
        pb.environment().put("JAVA_HOME", home.toString());
        Process p = pb.redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            boolean seenWhileRunning = false;
            while (System.nanoTime() < deadline && p.isAlive()) {
                if (Files.readString(err).contains("10% sampling fp32")) {
                    seenWhileRunning = p.isAlive();
                    break;
                }
                Thread.sleep(50);
            }
            assertThat(seenWhileRunning).as("the progress bar reached stderr while the command ran: %s", Files.readString(err)).isTrue();
            Files.createFile(release);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        // the launcher's stderr filter may write its last bytes just after java ends
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(err).endsWith("\n") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String all = Files.readString(err);
        assertThat(all).doesNotContain("incubator").contains("WARNING: something else\n").endsWith("100% done\n");
    }
}
