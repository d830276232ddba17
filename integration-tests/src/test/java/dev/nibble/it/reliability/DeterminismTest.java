package dev.nibble.it.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.ProviderStatus;
import dev.nibble.model.demo.DemoModel;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The same input on the same backend gives bit-identical outputs: run to run, backend to backend instance, JVM to JVM. */
class DeterminismTest {
    static List<String> backends() {
        return Fixtures.backendIds();
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<byte[]> outputs(KernelBackend b, List<QuantizedLinear> plans, Tensor x) {
        List<byte[]> out = new ArrayList<>();
        for (QuantizedLinear plan : plans) {
            try (PreparedLinear p = b.prepare(plan)) {
                out.add(Fixtures.forward(b, p, x));
                out.add(Fixtures.forward(b, p, x));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void sameInputSameBackendIsBitIdenticalRunToRun(String family) {
        List<QuantizedLinear> plans = Fixtures.plans(512, 96);
        Tensor x = Fixtures.random(new Random(8), 1f, 33, 512);
        List<byte[]> first;
        try (KernelBackend b = Fixtures.open(family)) {
            first = outputs(b, plans, x);
        }
        List<byte[]> second;
        try (KernelBackend b = Fixtures.open(family)) {
            second = outputs(b, plans, x);
        }
        for (int i = 0; i < first.size(); i++) {
            String what = family + " " + plans.get(i / 2).name();
            assertThat(sha256(second.get(i))).as(what + ", second backend instance").isEqualTo(sha256(first.get(i)));
            assertThat(sha256(first.get(i))).as(what + ", second forward").isEqualTo(sha256(first.get(i - i % 2)));
        }
    }

    /** Two separate JVMs quantize the demo DiT and run its forward pass: identical files, identical eps. */
    @Test
    void twoJvmRunsGiveIdenticalCheckpointsAndOutputs(@TempDir Path dir) throws Exception {
        Path q1 = dir.resolve("q1.safetensors");
        Path q2 = dir.resolve("q2.safetensors");
        for (Path q : List.of(q1, q2)) {
            ChildJvm.Result r = ChildJvm.run(ChildJvm.nibble("quantize", "--method", "convrot", "--out", q.toString()));
            assertThat(r.exitCode()).as(r.all()).isZero();
        }
        System.out.println("DETERMINISM convrot checkpoint from two JVMs: SHA-256 " + sha256(Files.readAllBytes(q1)).substring(0, 16));
        assertThat(sha256(Files.readAllBytes(q2))).as("SHA-256 of the convrot checkpoint written by two JVMs")
                .isEqualTo(sha256(Files.readAllBytes(q1)));

        Path inputs = DemoModel.file(DemoModel.REFERENCE_IO);
        List<String> ids = new ArrayList<>(List.of("cpu"));
        Backends.available().stream().filter(s -> s.id().equals("opencl") && s.available())
                .map(ProviderStatus::probe).findFirst().ifPresent(p -> ids.add(p.devices().getFirst().id()));
        for (String id : ids) {
            List<byte[]> eps = new ArrayList<>();
            for (int run = 0; run < 2; run++) {
                Path out = dir.resolve("eps-" + id.replace(':', '_') + "-" + run + ".safetensors");
                ChildJvm.Result r = ChildJvm.run(ChildJvm.nibble("forward", "--backend", id, "--model", q1.toString(),
                        "--inputs", inputs.toString(), "--out", out.toString()));
                assertThat(r.exitCode()).as(r.all()).isZero();
                try (SafetensorsFile f = SafetensorsFile.open(out)) {
                    eps.add(f.tensor("eps").toByteArray());
                }
            }
            assertThat(sha256(eps.get(1))).as(id + ": SHA-256 of eps from two JVMs").isEqualTo(sha256(eps.get(0)));
            System.out.println("DETERMINISM " + id + ": eps from two JVMs identical, SHA-256 " + sha256(eps.get(0)).substring(0, 16));
        }
    }
}
