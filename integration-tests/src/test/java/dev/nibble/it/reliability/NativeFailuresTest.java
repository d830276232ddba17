package dev.nibble.it.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.nibble.model.demo.DemoModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Missing native libraries: a child JVM in its own user + mount namespace where every libOpenCL.so*
 * and libcuda.so* is covered by an empty file (the loader then fails as on a machine without them).
 * Each backend reports "unavailable" with a reason and a remedy, the JVM goes on with the CPU
 * backend, and an explicit request for the missing backend is a typed error. JCuda's own native
 * failing to load is tested in spi-cuda (JCudaLoadFailureTest) and on the GPU machine.
 */
class NativeFailuresTest {
    static final List<Path> LIBRARY_DIRS = List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib/aarch64-linux-gnu"),
            Path.of("/usr/lib64"), Path.of("/usr/lib"), Path.of("/lib/x86_64-linux-gnu"), Path.of("/usr/local/nvidia/lib64"));

    static List<Path> installed(String prefix) throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path dir : LIBRARY_DIRS) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().startsWith(prefix)).filter(Files::exists)
                        .map(p -> {
                            try {
                                return p.toRealPath();
                            } catch (IOException e) {
                                return p;
                            }
                        })
                        .forEach(p -> {
                            if (!found.contains(p)) {
                                found.add(p);
                            }
                        });
            }
        }
        return found;
    }

    @Test
    void missingOpenClAndCudaLibrariesLeaveTheCpuBackend(@TempDir Path dir) throws Exception {
        String why = ChildJvm.namespaceUnavailableReason();
        assumeTrue(why == null, () -> why);
        List<Path> hidden = new ArrayList<>(installed("libOpenCL.so"));
        hidden.addAll(installed("libcuda.so"));
        Path empty = Files.createFile(dir.resolve("empty.so"));

        ChildJvm.Result backends = ChildJvm.run(ChildJvm.withFilesHidden(hidden, empty, ChildJvm.nibble("backends")));
        assertThat(backends.exitCode()).as(backends.all()).isZero();
        String out = backends.stdout();
        assertThat(section(out, "opencl")).as(backends.all()).contains("UNAVAILABLE")
                .containsPattern("reason: .*(libOpenCL|OpenCL library)")
                .contains("remedy: install an OpenCL ICD loader");
        assertThat(section(out, "cuda")).as(backends.all()).contains("UNAVAILABLE")
                .contains("reason: no CUDA driver: libcuda.so.1 not found").contains("remedy: install the NVIDIA driver");
        assertThat(section(out, "cpu")).as(backends.all()).contains("available");
        System.out.println("NATIVE hid " + hidden + "; nibble backends said:\n" + out.lines()
                .filter(l -> l.contains("reason:") || l.contains("UNAVAILABLE") || l.startsWith("cpu")).reduce("", (a, b) -> a + b + "\n"));

        // the JVM goes on: automatic selection runs a DiT forward pass on the CPU backend
        Path eps = dir.resolve("eps.safetensors");
        ChildJvm.Result forward = ChildJvm.run(ChildJvm.withFilesHidden(hidden, empty, ChildJvm.nibble("forward",
                "--model", DemoModel.file(DemoModel.DIT).toString(), "--inputs", DemoModel.file(DemoModel.REFERENCE_IO).toString(),
                "--out", eps.toString())));
        assertThat(forward.exitCode()).as(forward.all()).isZero();
        try (SafetensorsFile f = SafetensorsFile.open(eps)) {
            assertThat(f.names()).contains("eps");
        }

        // an explicit request for the missing backend is a typed error with the reason and the remedy
        ChildJvm.Result explicit = ChildJvm.run(ChildJvm.withFilesHidden(hidden, empty, ChildJvm.nibble("forward",
                "--backend", "opencl", "--model", DemoModel.file(DemoModel.DIT).toString(),
                "--inputs", DemoModel.file(DemoModel.REFERENCE_IO).toString(), "--out", dir.resolve("no.safetensors").toString())));
        assertThat(explicit.exitCode()).as(explicit.all()).isEqualTo(2);
        assertThat(explicit.stderr()).as(explicit.all()).contains("nibble: [ERROR] backend 'opencl' is not available")
                .contains("[CAUSE] the OpenCL library").contains("[FIX] install an OpenCL ICD loader").doesNotContain("\tat ");
        assertThat(dir.resolve("no.safetensors")).doesNotExist();
    }

    /** @return the lines of one provider's block in {@code nibble backends} */
    static String section(String out, String id) {
        StringBuilder b = new StringBuilder();
        boolean in = false;
        for (String line : out.lines().toList()) {
            if (!line.startsWith(" ")) {
                in = line.startsWith(id + " ");
            }
            if (in) {
                b.append(line).append('\n');
            }
        }
        return b.toString();
    }
}
