package dev.nibble.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starts the real {@code nibble} distribution in a child JVM, as a user would, and captures what it prints. */
public final class NibbleProcess {
    /** What a finished run printed and returned. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** @return stdout and stderr together, for messages */
        public String all() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private NibbleProcess() {
    }

    /** @return the distribution built by the cli module ({@code cli/target/nibble}) */
    public static Path dist() {
        Path p = Path.of(System.getProperty("nibble.dist", "../cli/target/nibble")).toAbsolutePath().normalize();
        if (!Files.isDirectory(p.resolve("lib"))) {
            throw new IllegalStateException("no distribution at " + p + ": build the cli module first (mvn package)");
        }
        return p;
    }

    /** @param name a fixture jar name without .jar @return its path under target/fixtures */
    public static Path fixture(String name) {
        Path p = Path.of(System.getProperty("nibble.build", "target"), "fixtures", name + ".jar").toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("fixture jar missing: " + p);
        }
        return p;
    }

    /**
     * Runs {@code nibble} on the module path: the distribution's lib/ plus extra jars.
     *
     * @param jvmArgs extra JVM options (e.g. -Dnibble.backend=x)
     * @param env extra environment variables
     * @param extraModules jars added to the module path
     * @param args the nibble arguments
     * @return what it printed
     */
    public static Result modulePath(List<String> jvmArgs, Map<String, String> env, List<Path> extraModules, String... args)
            throws IOException, InterruptedException {
        StringBuilder mp = new StringBuilder(dist().resolve("lib").toString());
        extraModules.forEach(p -> mp.append(java.io.File.pathSeparator).append(p));
        List<String> cmd = new ArrayList<>(base(jvmArgs));
        cmd.addAll(List.of("--module-path", mp.toString(), "--module", "dev.nibble.cli/dev.nibble.cli.Nibble"));
        cmd.addAll(List.of(args));
        return run(cmd, env);
    }

    /**
     * Runs {@code nibble} on the class path: every jar of the distribution plus extra jars.
     *
     * @param extraJars jars added to the class path
     * @param args the nibble arguments
     * @return what it printed
     */
    public static Result classPath(List<Path> extraJars, String... args) throws IOException, InterruptedException {
        StringBuilder cp = new StringBuilder();
        try (var s = Files.list(dist().resolve("lib"))) {
            s.filter(p -> p.toString().endsWith(".jar")).sorted()
                    .forEach(p -> cp.append(cp.isEmpty() ? "" : java.io.File.pathSeparator).append(p));
        }
        extraJars.forEach(p -> cp.append(java.io.File.pathSeparator).append(p));
        List<String> cmd = new ArrayList<>(base(List.of()));
        cmd.addAll(List.of("-cp", cp.toString(), "dev.nibble.cli.Nibble"));
        cmd.addAll(List.of(args));
        return run(cmd, Map.of());
    }

    /**
     * Runs the distribution's own launcher script, {@code bin/nibble}, as a user types it.
     *
     * @param env environment variables to set (e.g. JAVA_HOME)
     * @param args the nibble arguments
     * @return what it printed
     */
    public static Result launcher(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", dist().resolve("bin").resolve("nibble").toString()));
        cmd.addAll(List.of(args));
        return run(cmd, env);
    }

    private static List<String> base(List<String> jvmArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g"));
        cmd.addAll(jvmArgs);
        return cmd;
    }

    private static Result run(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("NIBBLE_BACKEND");
        pb.environment().putAll(env);
        Path out = Files.createTempFile("nibble-out", ".txt");
        Path err = Files.createTempFile("nibble-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("nibble did not finish in 5 minutes: " + cmd);
        }
        Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return r;
    }
}
