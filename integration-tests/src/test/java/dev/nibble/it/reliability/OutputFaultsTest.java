package dev.nibble.it.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.OutputWriteException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.io.AtomicFiles;
import dev.nibble.model.checkpoint.QuantizedCheckpoint;
import dev.nibble.model.image.PngWriter;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import dev.nibble.api.numerics.Quantizer;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every writer, when its output cannot be written (directory not writable, disk full, file size
 * limit, process killed mid-write), leaves the previous output byte-identical and no partial file
 * under the final name; where the process survives it gets an {@link OutputWriteException} naming
 * the file.
 */
class OutputFaultsTest {
    /** A writer under test: writes a small or a large (~2 MiB) version of its output to a target. */
    record Writer(String name, String file, WriteAction action) {
    }

    @FunctionalInterface
    interface WriteAction {
        void write(Path target, boolean large);
    }

    static final List<Writer> WRITERS = List.of(
            new Writer("safetensors (SafetensorsWriter)", "out.safetensors", (t, large) ->
                    SafetensorsWriter.write(t, Map.of("w", bytes(large ? 2 << 20 : 4096, 1)), Map.of("k", "v"))),
            new Writer("quantized checkpoint (QuantizedCheckpoint.writer)", "model.nibble.safetensors", (t, large) -> {
                try (QuantizedCheckpoint.Writer w = QuantizedCheckpoint.writer(t, Map.of("nibble.method", "rtn"))) {
                    w.addLayer(layer(large ? 4096 : 16, 1024));
                    w.commit();
                }
            }),
            new Writer("PNG image (PngWriter)", "grid.png", (t, large) -> {
                int side = large ? 1500 : 32;
                byte[] px = new byte[side * side];
                new Random(3).nextBytes(px);
                PngWriter.writeGray(t, px, side, side);
            }),
            new Writer("report text (AtomicFiles.writeString: eval report.md/results.json, quality.md)", "report.md",
                    (t, large) -> AtomicFiles.writeString(t, "x".repeat(large ? 2 << 20 : 100) + "\n")));

    static Tensor bytes(int n, int seed) {
        Tensor t = Tensor.allocate(DType.U8, Shape.of(n));
        Random r = new Random(seed);
        for (long i = 0; i < n; i++) {
            t.data().set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
        }
        return t;
    }

    static QuantizedLinear layer(int n, int k) {
        float[] w = new float[n * k];
        Random r = new Random(5);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        return QuantizedLinear.builder("blocks.0.mlp.fc1", k, n)
                .weight(Quantizer.quantize(Tensor.ofFloats(w, n, k), QuantScheme.symmetric(4, Granularity.PER_CHANNEL)))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN))).build();
    }

    /** Writes the small version of every writer's output into dir; returns the bytes of each. */
    static Map<Path, byte[]> previousOutputs(Path dir) throws IOException {
        Map<Path, byte[]> before = new LinkedHashMap<>();
        for (Writer w : WRITERS) {
            Path target = dir.resolve(w.file());
            w.action().write(target, false);
            before.put(target, Files.readAllBytes(target));
        }
        return before;
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The failed write threw a typed error naming the file; the previous output is intact and alone. */
    static void assertFailedCleanly(Path dir, Map<Path, byte[]> before, boolean large) throws IOException {
        List<String> expectedNames = before.keySet().stream().map(p -> p.getFileName().toString()).sorted().toList();
        for (Writer w : WRITERS) {
            Path target = dir.resolve(w.file());
            Throwable e = catchThrowable(() -> w.action().write(target, large));
            assertThat(e).as(w.name()).isInstanceOf(OutputWriteException.class);
            assertThat(((OutputWriteException) e).file().toAbsolutePath()).as(w.name()).isEqualTo(target.toAbsolutePath());
            assertThat(e.getMessage()).as(w.name()).contains(target.toString());
            assertThat(Files.readAllBytes(target)).as(w.name() + ": previous output").isEqualTo(before.get(target));
            assertThat(names(dir)).as(w.name() + ": files left in " + dir).containsExactlyElementsOf(expectedNames);
        }
        // the previous safetensors outputs still parse
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("out.safetensors"))) {
            assertThat(f.names()).contains("w");
        }
    }

    @Test
    void unwritableDirectory(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("out");
        Files.createDirectories(dir);
        String whyNot = Mounts.whyNotMountable();
        if (whyNot == null) {
            // root ignores permission bits: make the directory a tmpfs and remount it read-only
            String failed = Mounts.tmpfs(dir, "size=16m,mode=0755");
            assumeTrue(failed == null, () -> "cannot mount a tmpfs although root: " + failed);
            try {
                Map<Path, byte[]> before = previousOutputs(dir);
                assertThat(Mounts.remountReadOnly(dir)).isNull();
                assertFailedCleanly(dir, before, false);
            } finally {
                Mounts.unmount(dir);
            }
        } else {
            Map<Path, byte[]> before = previousOutputs(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
            try {
                assertFailedCleanly(dir, before, false);
            } finally {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    @Test
    void diskFillsMidWrite(@TempDir Path tmp) throws IOException {
        String whyNot = Mounts.whyNotMountable();
        assumeTrue(whyNot == null, () -> "a size-limited tmpfs needs root (" + whyNot + "); the RLIMIT_FSIZE test covers a full disk without root");
        Path dir = tmp.resolve("small");
        Files.createDirectories(dir);
        String failed = Mounts.tmpfs(dir, "size=1m,mode=0755");
        assumeTrue(failed == null, () -> "cannot mount a tmpfs although root: " + failed);
        try {
            Map<Path, byte[]> before = previousOutputs(dir);
            assertFailedCleanly(dir, before, true);
        } finally {
            Mounts.unmount(dir);
        }
    }

    /**
     * RLIMIT_FSIZE: the kernel refuses to grow a file past the limit (HotSpot ignores SIGXFSZ, so the
     * write returns EFBIG); the real {@code nibble quantize} must exit with a typed message naming its
     * output and leave the previous checkpoint as it was. Needs no root.
     */
    @Test
    void fileSizeLimitDuringQuantize(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("q.safetensors");
        ChildJvm.Result first = ChildJvm.run(ChildJvm.nibble("quantize", "--method", "rtn", "--out", target.toString()));
        assertThat(first.exitCode()).as(first.all()).isZero();
        byte[] previous = Files.readAllBytes(target);
        assertThat(previous.length).as("the checkpoint must outgrow the 1 MiB limit").isGreaterThan(2 << 20);

        ChildJvm.Result r = ChildJvm.run(ChildJvm.underFileSizeLimit(1024,
                ChildJvm.nibble("quantize", "--method", "rtn", "--bits", "w8a8", "--out", target.toString())));
        assertThat(r.exitCode()).as(r.all()).isEqualTo(2);
        assertThat(r.stderr()).as(r.all()).contains("nibble: cannot write " + target).contains("File too large")
                .doesNotContain("Exception in thread");
        assertThat(Files.readAllBytes(target)).as("previous checkpoint").isEqualTo(previous);
        assertThat(names(dir)).as("no partial or temporary file").containsExactly("q.safetensors");
    }

    /** SIGKILL while the real writer streams: the previous file stays, nothing partial under its name. */
    @Test
    void killedMidWrite(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("out.safetensors");
        SafetensorsWriter.write(target, Map.of("old", bytes(1000, 9)), Map.of("generation", "1"));
        byte[] previous = Files.readAllBytes(target);

        Path out = dir.resolveSibling(dir.getFileName() + ".stdout");
        Process p = ChildJvm.start(ChildJvm.command(SlowWriter.class.getName(), target.toString(), "2000", "65536", "5"),
                out, out.resolveSibling(dir.getFileName() + ".stderr"));
        long growing = waitUntilTemporaryGrows(dir, p);
        new ProcessBuilder("kill", "-9", Long.toString(p.pid())).inheritIO().start().waitFor();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
        assertThat(growing).isPositive();

        assertThat(Files.readAllBytes(target)).as("previous output").isEqualTo(previous);
        List<String> left = new ArrayList<>(names(dir));
        left.remove("out.safetensors");
        assertThat(left).as("only hidden temporary files may remain beside it")
                .allMatch(n -> n.startsWith(".out.safetensors.") && n.endsWith(".tmp"));
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertThat(f.names()).containsExactly("old");
        }
        // the next run replaces it completely
        ChildJvm.Result again = ChildJvm.run(ChildJvm.command(SlowWriter.class.getName(), target.toString(), "3", "1000", "0"));
        assertThat(again.exitCode()).as(again.all()).isZero();
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertThat(f.names()).containsExactlyInAnyOrder("t0", "t1", "t2");
        }
    }

    /** @return the size the temporary file had grown to when the child was caught writing */
    static long waitUntilTemporaryGrows(Path dir, Process p) throws IOException, InterruptedException {
        long last = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("the writer finished before it could be killed").isTrue();
            long size = -1;
            try (Stream<Path> s = Files.list(dir)) {
                for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList()) {
                    try {
                        size = Math.max(size, Files.size(f));
                    } catch (IOException gone) {
                        // renamed or deleted between list and size
                    }
                }
            }
            if (last > 0 && size > last) {
                return size;
            }
            last = size;
            Thread.sleep(20);
        }
        throw new AssertionError("no growing temporary file in " + dir);
    }
}
