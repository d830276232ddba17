package dev.nibble.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.dit.RandomDit;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ModelCommandsTest {
    static final DitConfig SMALL = new DitConfig(8, 2, 1, 32, 2, 2, 4.0, 4, false, 256);

    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    static Run nibble(String... args) {
        CommandLine cl = Nibble.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    private Path model() {
        return RandomDit.write(dir.resolve("m.safetensors"), SMALL, 3, DType.F32);
    }

    private Path inputs(int b) {
        float[] x = new float[b * 64];
        long[] t = new long[b];
        long[] y = new long[b];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i * 0.37);
        }
        Tensor tt = Tensor.allocate(DType.I64, dev.nibble.api.Shape.of(b));
        Tensor yy = Tensor.allocate(DType.I64, dev.nibble.api.Shape.of(b));
        for (int i = 0; i < b; i++) {
            tt.data().setAtIndex(Tensor.I64_LE, i, 100L * i + 5);
            yy.data().setAtIndex(Tensor.I64_LE, i, i % 5);
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", Tensor.ofFloats(x, b, 1, 8, 8));
        m.put("t", tt);
        m.put("y", yy);
        return SafetensorsWriter.write(dir.resolve("io.safetensors"), m, Map.of());
    }

    @Test
    void forwardWritesEpsMatchingTheRunner() {
        Path m = model();
        Path io = inputs(3);
        Path out = dir.resolve("eps.safetensors");
        Run r = nibble("forward", "--model", m.toString(), "--inputs", io.toString(), "--out", out.toString(), "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        try (SafetensorsFile f = SafetensorsFile.open(out); DitModel dm = DitModel.load(m); KernelBackend be = Backends.open("cpu");
                DitRunner run = new DitRunner(be, dm); SafetensorsFile in = SafetensorsFile.open(io)) {
            Tensor eps = f.tensor("eps", DType.F32, 3, 1, 8, 8);
            float[] want = run.forward(in.tensor("x"), new long[] {5, 105, 205}, new long[] {0, 1, 2}, 0).toFloatArray();
            assertThat(eps.toFloatArray()).containsExactly(want);
        }
    }

    @Test
    void badInputIsOneLineExitTwoAndWritesNothing() throws Exception {
        Path m = model();
        Path io = inputs(2);
        Path out = dir.resolve("o.safetensors");
        Run missing = nibble("forward", "--model", dir.resolve("nope.safetensors").toString(), "--inputs", io.toString(),
                "--out", out.toString());
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains("nope.safetensors").contains("no such file");
        assertThat(missing.err().strip().lines()).hasSize(1);

        Path truncated = dir.resolve("trunc.safetensors");
        byte[] bytes = Files.readAllBytes(m);
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        Run t = nibble("forward", "--model", truncated.toString(), "--inputs", io.toString(), "--out", out.toString());
        assertThat(t.status()).isEqualTo(2);
        assertThat(t.err()).contains("trunc.safetensors").contains("past the end").contains("tensor '");
        assertThat(t.err().strip().lines()).hasSize(1);

        Run layout = nibble("forward", "--model", io.toString(), "--inputs", io.toString(), "--out", out.toString());
        assertThat(layout.status()).isEqualTo(2);
        assertThat(layout.err()).contains("nibble.dit.config");

        Run wrongInputs = nibble("forward", "--model", m.toString(), "--inputs", m.toString(), "--out", out.toString());
        assertThat(wrongInputs.status()).isEqualTo(2);
        assertThat(wrongInputs.err()).contains("'x'").contains("missing");

        Run method = nibble("quantize", "--model", m.toString(), "--method", "no-such-method", "--out", out.toString());
        assertThat(method.status()).isEqualTo(2);
        assertThat(method.err()).contains("unknown method 'no-such-method'");

        Run bits = nibble("quantize", "--model", m.toString(), "--method", "x", "--bits", "w3a3", "--out", out.toString());
        assertThat(bits.status()).isEqualTo(2);
        assertThat(bits.err()).contains("w3a3");

        Run classes = nibble("generate", "--model", m.toString(), "--classes", "2-9", "--out", dir.resolve("g.png").toString());
        assertThat(classes.status()).isEqualTo(2);
        assertThat(classes.err()).contains("class 9");

        Run eval = nibble("eval", "--model", m.toString(), "--methods", "zzz", "--out", dir.resolve("ev").toString());
        assertThat(eval.status()).isEqualTo(2);
        assertThat(eval.err()).contains("unknown method 'zzz'");

        assertThat(out).doesNotExist();
        assertThat(dir.resolve("g.png")).doesNotExist();
        assertThat(dir.resolve("ev")).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("m.safetensors", "io.safetensors",
                    "trunc.safetensors");
        }
    }

    @Test
    void generateWritesAPngGrid() throws Exception {
        Path m = model();
        Path png = dir.resolve("grid.png");
        Run r = nibble("generate", "--model", m.toString(), "--classes", "0-3", "--per-class", "2", "--steps", "3",
                "--seed", "4", "--out", png.toString(), "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        byte[] b = Files.readAllBytes(png);
        assertThat(b[1]).isEqualTo((byte) 'P');
        // 2 columns x 4 rows of 8x8 images upscaled 4x with 1-pixel borders
        assertThat(java.nio.ByteBuffer.wrap(b, 16, 8).getInt()).isEqualTo(2 * 33 + 1);
        assertThat(java.nio.ByteBuffer.wrap(b, 20, 4).getInt()).isEqualTo(4 * 33 + 1);
        Run again = nibble("generate", "--model", m.toString(), "--classes", "0-3", "--per-class", "2", "--steps", "3",
                "--seed", "4", "--out", dir.resolve("grid2.png").toString(), "--backend", "cpu");
        assertThat(again.status()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("grid2.png"))).isEqualTo(b);
    }

    @Test
    void quantizeThenForwardAndEvalWithARealMethod() throws Exception {
        Path m = model();
        Path q = dir.resolve("q.safetensors");
        Run r = nibble("quantize", "--model", m.toString(), "--method", "rtn", "--bits", "w8a8", "--out", q.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("rtn w8a8").contains("linear layers quantized");
        try (SafetensorsFile f = SafetensorsFile.open(q)) {
            assertThat(f.metadata()).containsEntry("nibble.method", "rtn").containsEntry("nibble.format.version", "1");
            assertThat(f.names()).contains("blocks.0.attn.qkv.qweight", "blocks.0.attn.qkv.wscales", "x_embedder.proj.weight");
        }
        Path io = inputs(2);
        Path fpOut = dir.resolve("fp-eps.safetensors");
        Path qOut = dir.resolve("q-eps.safetensors");
        assertThat(nibble("forward", "--model", m.toString(), "--inputs", io.toString(), "--out", fpOut.toString()).status()).isZero();
        assertThat(nibble("forward", "--model", q.toString(), "--inputs", io.toString(), "--out", qOut.toString()).status()).isZero();
        try (SafetensorsFile a = SafetensorsFile.open(fpOut); SafetensorsFile b = SafetensorsFile.open(qOut)) {
            float[] x = a.tensor("eps").toFloatArray();
            float[] y = b.tensor("eps").toFloatArray();
            double num = 0;
            double den = 0;
            for (int i = 0; i < x.length; i++) {
                num += (x[i] - y[i]) * (x[i] - y[i]);
                den += x[i] * x[i];
            }
            assertThat(Math.sqrt(num / den)).isBetween(1e-7, 0.1); // W8A8 stays close but is not exact
        }
        Run again = nibble("quantize", "--model", q.toString(), "--method", "rtn", "--bits", "w8a8", "--out",
                dir.resolve("qq.safetensors").toString());
        assertThat(again.status()).isEqualTo(2);
        assertThat(again.err()).contains("already quantized");

        Path ev = dir.resolve("eval");
        Run e = nibble("eval", "--model", m.toString(), "--methods", "rtn", "--bits", "w8a8,w4a4", "--classes", "0-1",
                "--per-class", "2", "--steps", "3", "--out", ev.toString());
        assertThat(e.status()).as(e.err()).isZero();
        assertThat(e.out()).contains("| rtn-w8a8 |").contains("| rtn-w4a4 |").contains("report: ");
        assertThat(Files.readString(ev.resolve("report.md"))).contains("rtn-w8a8.png");
        assertThat(ev.resolve("results.json")).exists();
        assertThat(ev.resolve("fp32.png")).exists();
    }
}
