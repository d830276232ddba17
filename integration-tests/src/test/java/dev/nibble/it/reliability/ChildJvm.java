package dev.nibble.it.reliability;

import dev.nibble.it.NibbleProcess;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM on the class path of the built distribution plus this module's test classes, started
 * as is, under a shell {@code ulimit}, or inside a fresh user + mount namespace ({@code unshare -Urm})
 * where some files are hidden by bind mounts.
 */
final class ChildJvm {
    /** What a finished child printed and returned. */
    record Result(int exitCode, String stdout, String stderr) {
        String all() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private ChildJvm() {
    }

    /** @return java, class path and JVM options for a main class, then its arguments */
    static List<String> command(String mainClass, String... args) {
        StringBuilder cp = new StringBuilder(NibbleProcess.dist().resolve("lib") + File.separator + "*");
        cp.append(File.pathSeparator).append(Path.of(System.getProperty("nibble.build", "target"), "test-classes").toAbsolutePath());
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-UsePerfData", "-Xshare:auto", "-Xmx512m", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", cp.toString(), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** @return the {@code nibble} command line on the distribution's class path */
    static List<String> nibble(String... args) {
        return command("dev.nibble.cli.Nibble", args);
    }

    /** Runs a command under {@code ulimit -f} (RLIMIT_FSIZE) in KiB. */
    static List<String> underFileSizeLimit(long kib, List<String> cmd) {
        List<String> c = new ArrayList<>(List.of("bash", "-c", "ulimit -f " + kib + " && exec \"$@\"", "bash"));
        c.addAll(cmd);
        return c;
    }

    /** Runs a command in a new user + mount namespace where each hidden file is replaced by an empty one. */
    static List<String> withFilesHidden(List<Path> hidden, Path empty, List<String> cmd) {
        StringBuilder sh = new StringBuilder();
        for (Path h : hidden) {
            sh.append("mount --bind '").append(empty).append("' '").append(h).append("' || exit 97; ");
        }
        sh.append("exec \"$@\"");
        List<String> c = new ArrayList<>(List.of("unshare", "-Urm", "sh", "-c", sh.toString(), "sh"));
        c.addAll(cmd);
        return c;
    }

    static Process start(List<String> cmd, Path out, Path err) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("NIBBLE_BACKEND");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        return pb.start();
    }

    static Result run(List<String> cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("child-out", ".txt");
        Path err = Files.createTempFile("child-err", ".txt");
        try {
            Process p = start(cmd, out, err);
            if (!p.waitFor(3, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("child did not finish in 3 minutes: " + cmd);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** @return true if {@code unshare -Urm} can make a namespace with bind mounts here */
    static String namespaceUnavailableReason() {
        try {
            Path f = Files.createTempFile("ns", ".probe");
            Result r = run(List.of("unshare", "-Urm", "sh", "-c", "mount --bind /dev/null '" + f + "'"));
            Files.deleteIfExists(f);
            return r.exitCode() == 0 ? null : "unshare -Urm with a bind mount is not permitted here: " + r.stderr().strip();
        } catch (IOException | InterruptedException e) {
            return "unshare is not available: " + e.getMessage();
        }
    }
}
