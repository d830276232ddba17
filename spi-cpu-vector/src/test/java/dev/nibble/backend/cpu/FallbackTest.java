package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM without {@code --add-modules jdk.incubator.vector} gets the scalar loops, a probe whose
 * reason names the missing module with the flag to add, and one log line; results stay correct.
 */
class FallbackTest {

    static String run(List<String> jvmArgs) throws Exception {
        String sep = File.pathSeparator;
        String cp = System.getProperty("jdk.module.path", "") + sep + System.getProperty("java.class.path", "");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add(ProbeMain.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @Test
    void withoutTheVectorModuleTheProbeSaysSoAndScalarLoopsRun() throws Exception {
        String out = run(List.of());
        assertThat(out).contains("available=true", "path=scalar", "kernels=scalar", "gemm=5.0,11.0,11.0,25.0");
        assertThat(out).contains("reason=running scalar loops (slow): the Vector API module jdk.incubator.vector is not in the module graph");
        assertThat(out).contains("remedy=add --add-modules jdk.incubator.vector to the java command line");
        assertThat(out).contains("cpu backend: scalar loops"); // the one log line at open
    }

    @Test
    void withTheModuleButC2OffTheProbeNamesTheFlag() throws Exception {
        String out = run(List.of("--add-modules", "jdk.incubator.vector", "-XX:TieredStopAtLevel=1"));
        assertThat(out).contains("path=scalar", "kernels=scalar", "-XX:TieredStopAtLevel=1", "gemm=5.0,11.0,11.0,25.0");
    }

    @Test
    void withTheModuleTheVectorKernelsRun() throws Exception {
        String out = run(List.of("--add-modules", "jdk.incubator.vector"));
        assertThat(out).contains("path=vector", "kernels=vector", "reason=\n", "gemm=5.0,11.0,11.0,25.0");
    }
}
