package dev.nibble.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import dev.nibble.model.checkpoint.QuantizedCheckpoint;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nibble op} on the CPU backend against the API's host numerics, and its answers to bad input. */
class OpCommandTest {
    @TempDir
    Path dir;

    static Tensor data(int rows, int cols, double seed) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (Math.sin(i * 0.731 + seed) * (1 + (i % 7) * 0.3));
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    private Path file(Map<String, Tensor> tensors, Map<String, String> meta) {
        return SafetensorsWriter.write(dir.resolve("in.safetensors"), tensors, meta);
    }

    private Path out() {
        return dir.resolve("out.safetensors");
    }

    private ModelCommandsTest.Run op(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "op";
        System.arraycopy(args, 0, all, 1, args.length);
        return ModelCommandsTest.nibble(all);
    }

    private void ok(ModelCommandsTest.Run r) {
        assertThat(r.status()).as(r.err()).isZero();
    }

    @Test
    void rotateMatchesHostHadamardAndRecordsTheOp() {
        Tensor x = data(3, 20, 0);
        Path in = file(Map.of("x", x), Map.of());
        for (String spec : new String[] {"regular:16", "sylvester:4", "identity"}) {
            ok(op("rotate", "--backend", "cpu", "--in", in.toString(), "--out", out().toString(), "--rotation", spec));
            Rotation rot = OpSpecs.rotation(spec);
            float[] want = Hadamard.rotate(x, rot).toFloatArray();
            try (SafetensorsFile f = SafetensorsFile.open(out())) {
                assertThat(f.tensor("y").shape().dims()).containsExactly(3, rot.outputDim(20));
                assertThat(f.tensor("y").toFloatArray()).containsExactly(want, within(1e-5f));
                assertThat(f.metadata()).containsEntry("nibble.op", "rotate").containsEntry("nibble.backend", "cpu")
                        .containsEntry("nibble.rotation", rot.describe());
            }
        }
        Path g = SafetensorsWriter.write(dir.resolve("g.safetensors"), Map.of("act", data(2, 32, 1)), Map.of());
        ok(op("rotate", "--in", g.toString(), "--out", out().toString(), "--rotation", "sylvester:global", "--backend", "cpu",
                "--input-name", "act"));
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            assertThat(f.tensor("y").toFloatArray()).containsExactly(
                    Hadamard.rotate(data(2, 32, 1), Rotation.SylvesterHadamard.GLOBAL).toFloatArray(), within(1e-5f));
        }
    }

    @Test
    void quantizeWritesCodesBitIdenticalToTheHostQuantizer() {
        Tensor x = data(4, 48, 2);
        Path in = file(Map.of("x", x), Map.of());
        record Case(QuantScheme scheme, String[] options) {
        }
        Case[] cases = {
            new Case(QuantScheme.symmetric(8, Granularity.PER_TOKEN), new String[] {"--bits", "8"}),
            new Case(QuantScheme.symmetricGroup(4, 64), new String[] {"--bits", "4", "--granularity", "group"}),
            new Case(QuantScheme.symmetricGroup(8, 16), new String[] {"--granularity", "group", "--group-size", "16"}),
            new Case(QuantScheme.affine(4, Granularity.PER_GROUP, 16), new String[] {"--bits", "4", "--granularity", "group",
                "--group-size", "16", "--affine"}),
            new Case(QuantScheme.symmetric(4, Granularity.PER_TENSOR).withNarrowRange().withClipRatio(0.9f),
                new String[] {"--bits", "4", "--granularity", "tensor", "--narrow", "--clip", "0.9"}),
        };
        for (Case c : cases) {
            String[] args = new String[] {"quantize", "--backend", "cpu", "--in", in.toString(), "--out", out().toString()};
            String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.Arrays.stream(c.options()))
                    .toArray(String[]::new);
            ok(op(all));
            QuantizedTensor want = Quantizer.quantize(x, c.scheme());
            try (SafetensorsFile f = SafetensorsFile.open(out())) {
                assertThat(f.metadata()).containsEntry("nibble.scheme", c.scheme().describe());
                assertThat(f.tensor("codes").dtype()).isEqualTo(want.codes().dtype());
                assertThat(f.tensor("codes").toByteArray()).as(c.scheme().describe()).isEqualTo(want.codes().toByteArray());
                assertThat(f.tensor("scales").toFloatArray()).containsExactly(want.scales().toFloatArray());
                assertThat(f.contains("zeros")).isEqualTo(want.zeros() != null);
                if (want.zeros() != null) {
                    assertThat(f.tensor("zeros").toIntArray()).containsExactly(want.zeros().toIntArray());
                }
            }
        }
    }

    @Test
    void dequantizeReadsTheSchemeFromMetadataOrOptions() {
        QuantScheme s = QuantScheme.affine(8, Granularity.PER_TOKEN, 0);
        QuantizedTensor q = Quantizer.quantize(data(3, 24, 3), s);
        Path in = file(Map.of("codes", q.codes(), "scales", q.scales(), "zeros", q.zeros()), Map.of("nibble.scheme", s.describe()));
        float[] want = Quantizer.dequantize(q).toFloatArray();
        ok(op("dequantize", "--backend", "cpu", "--in", in.toString(), "--out", out().toString()));
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            assertThat(f.tensor("y").toFloatArray()).containsExactly(want, within(1e-6f));
        }
        Path bare = SafetensorsWriter.write(dir.resolve("bare.safetensors"),
                Map.of("codes", q.codes(), "scales", q.scales(), "zeros", q.zeros()), Map.of());
        ok(op("dequantize", "--backend", "cpu", "--in", bare.toString(), "--out", out().toString(), "--bits", "8", "--affine"));
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            assertThat(f.tensor("y").toFloatArray()).containsExactly(want, within(1e-6f));
        }
    }

    @Test
    void gemmF32AndQuantizedMatchHostArithmetic() {
        Tensor x = data(3, 32, 4);
        Tensor w = data(5, 32, 5);
        ok(op("gemm", "--backend", "cpu", "--in", file(Map.of("x", x, "w", w), Map.of()).toString(), "--out", out().toString()));
        float[] xv = x.toFloatArray();
        float[] wv = w.toFloatArray();
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            float[] y = f.tensor("y", DType.F32, 3, 5).toFloatArray();
            for (int m = 0; m < 3; m++) {
                for (int n = 0; n < 5; n++) {
                    double s = 0;
                    for (int k = 0; k < 32; k++) {
                        s += xv[m * 32 + k] * wv[n * 32 + k];
                    }
                    assertThat(y[m * 5 + n]).isCloseTo((float) s, within(1e-4f));
                }
            }
        }
        QuantScheme s8 = QuantScheme.symmetric(8, Granularity.PER_TOKEN);
        QuantizedTensor qx = Quantizer.quantize(x, s8);
        QuantizedTensor qw = Quantizer.quantize(w, QuantScheme.symmetric(8, Granularity.PER_CHANNEL));
        Map<String, Tensor> parts = new LinkedHashMap<>();
        parts.put("x.codes", qx.codes());
        parts.put("x.scales", qx.scales());
        parts.put("w.codes", qw.codes());
        parts.put("w.scales", qw.scales());
        Path qin = SafetensorsWriter.write(dir.resolve("q.safetensors"), parts,
                Map.of("nibble.scheme.x", s8.describe(), "nibble.scheme.w", qw.scheme().describe()));
        ok(op("gemm", "--backend", "cpu", "--in", qin.toString(), "--out", out().toString(), "--accumulate"));
        byte[] a = qx.codes().toByteArray();
        byte[] b = qw.codes().toByteArray();
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            int[] acc = f.tensor("y", DType.I32, 3, 5).toIntArray();
            for (int m = 0; m < 3; m++) {
                for (int n = 0; n < 5; n++) {
                    int s = 0;
                    for (int k = 0; k < 32; k++) {
                        s += a[m * 32 + k] * b[n * 32 + k];
                    }
                    assertThat(acc[m * 5 + n]).isEqualTo(s);
                }
            }
            assertThat(f.metadata()).containsEntry("nibble.kind", "accumulate").containsEntry("nibble.scheme.x", s8.describe());
        }
    }

    @Test
    void linearMatchesRotatedDequantizedWeightsPlusBias() {
        Tensor x = data(4, 40, 6);
        Tensor w = data(6, 40, 7);
        float[] bias = {0.5f, -1f, 2f, 0f, 0.25f, 3f};
        Path in = file(Map.of("x", x, "w", w, "bias", Tensor.ofFloats(bias, 6)), Map.of());
        ok(op("linear", "--backend", "cpu", "--in", in.toString(), "--out", out().toString(), "--rotation", "regular:16",
                "--bits", "8"));
        Rotation rot = new Rotation.RegularHadamard(16);
        float[] xr = Hadamard.rotate(x, rot).toFloatArray();
        float[] wd = Quantizer.dequantize(Quantizer.quantize(Hadamard.rotate(w, rot),
                QuantScheme.symmetric(8, Granularity.PER_CHANNEL))).toFloatArray();
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            float[] y = f.tensor("y", DType.F32, 4, 6).toFloatArray();
            for (int m = 0; m < 4; m++) {
                for (int n = 0; n < 6; n++) {
                    double s = bias[n];
                    for (int k = 0; k < 48; k++) {
                        s += xr[m * 48 + k] * wd[n * 48 + k];
                    }
                    assertThat(y[m * 6 + n]).isCloseTo((float) s, within(1e-3f));
                }
            }
            assertThat(f.metadata()).containsEntry("nibble.scheme.w", "int8-sym-per_channel-dyn")
                    .containsEntry("nibble.rotation", rot.describe());
        }
    }

    @Test
    void linearFromACheckpointLayerEqualsTheBackendsOwnForward() {
        Tensor x = data(5, 64, 8);
        QuantScheme ws = QuantScheme.symmetricGroup(4, 32);
        QuantizedLinear plan = QuantizedLinear.builder("blocks.0.attn.qkv", 64, 12).rotation(new Rotation.RegularHadamard(16))
                .weight(Quantizer.quantize(Hadamard.rotate(data(12, 64, 9), new Rotation.RegularHadamard(16)), ws))
                .activation(new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 32)))
                .bias(Tensor.ofFloats(new float[12], 12)).build();
        Path ckpt = dir.resolve("ckpt.safetensors");
        try (QuantizedCheckpoint.Writer w = QuantizedCheckpoint.writer(ckpt, Map.of())) {
            w.addLayer(plan).commit();
        }
        Path in = file(Map.of("x", x), Map.of());
        ok(op("linear", "--backend", "cpu", "--in", in.toString(), "--out", out().toString(), "--checkpoint", ckpt.toString(),
                "--layer", "blocks.0.attn.qkv"));
        float[] want;
        try (KernelBackend be = Backends.open("cpu"); PreparedLinear p = be.prepare(plan); DeviceTensor dx = be.upload(x);
                DeviceTensor y = p.forward(dx)) {
            want = be.download(y).toFloatArray();
        }
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            assertThat(f.tensor("y", DType.F32, 5, 12).toFloatArray()).containsExactly(want);
            assertThat(f.metadata()).containsEntry("nibble.layer", "blocks.0.attn.qkv").containsEntry("nibble.scheme.w", ws.describe());
        }
        try {
            Files.delete(out());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        rejected(op("linear", "--backend", "cpu", "--in", in.toString(), "--out", out().toString(), "--checkpoint", ckpt.toString(),
                "--layer", "nope"), "no such layer");
    }

    @Test
    void quantizeOutputFeedsDequantizeAndWeightOnlyGemm() {
        Tensor x = data(3, 32, 10);
        Tensor w = data(4, 32, 11);
        ok(op("quantize", "--backend", "cpu", "--in", file(Map.of("x", w), Map.of()).toString(), "--out", out().toString(),
                "--bits", "4", "--granularity", "channel"));
        Path q = dir.resolve("q.safetensors");
        try {
            Files.move(out(), q);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ok(op("dequantize", "--backend", "cpu", "--in", q.toString(), "--out", out().toString()));
        QuantizedTensor qw = Quantizer.quantize(w, QuantScheme.symmetric(4, Granularity.PER_CHANNEL));
        float[] wd = Quantizer.dequantize(qw).toFloatArray();
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            assertThat(f.tensor("y").toFloatArray()).containsExactly(wd, within(1e-6f));
        }
        Path g = SafetensorsWriter.write(dir.resolve("g.safetensors"),
                Map.of("x", x, "w.codes", qw.codes(), "w.scales", qw.scales()), Map.of("nibble.scheme.w", qw.scheme().describe()));
        ok(op("gemm", "--backend", "cpu", "--in", g.toString(), "--out", out().toString()));
        float[] xv = x.toFloatArray();
        try (SafetensorsFile f = SafetensorsFile.open(out())) {
            float[] y = f.tensor("y", DType.F32, 3, 4).toFloatArray();
            assertThat(f.metadata()).containsEntry("nibble.kind", "weight-only");
            for (int m = 0; m < 3; m++) {
                for (int n = 0; n < 4; n++) {
                    double s = 0;
                    for (int k = 0; k < 32; k++) {
                        s += xv[m * 32 + k] * wd[n * 32 + k];
                    }
                    assertThat(y[m * 4 + n]).isCloseTo((float) s, within(1e-4f));
                }
            }
        }
    }

    @Test
    void schemeDescriptionsParseBack() {
        for (QuantScheme s : new QuantScheme[] {QuantScheme.symmetricGroup(4, 64).withNarrowRange().withClipRatio(0.9f),
            QuantScheme.affine(8, Granularity.PER_TOKEN, 0), QuantScheme.nf4(64), QuantScheme.symmetric(8, Granularity.PER_TENSOR).asStatic()}) {
            assertThat(OpSpecs.scheme(s.describe(), "test")).isEqualTo(s);
        }
    }

    private void rejected(ModelCommandsTest.Run r, String fragment) {
        assertThat(r.status()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("nibble: ").contains(fragment).doesNotContain("\n");
        assertThat(Files.exists(out())).isFalse();
    }

    @Test
    void badInputIsOneLineExitTwoAndNoOutput() {
        Path in = file(Map.of("x", data(2, 16, 0), "w", data(3, 8, 0)), Map.of());
        String o = out().toString();
        rejected(op("rotate", "--in", dir.resolve("nope.safetensors").toString(), "--out", o, "--backend", "cpu"), "no such file");
        rejected(op("frobnicate", "--in", in.toString(), "--out", o, "--backend", "cpu"), "unknown op 'frobnicate'");
        rejected(op("rotate", "--in", in.toString(), "--out", o, "--backend", "cpu", "--rotation", "spiral:3"), "--rotation 'spiral:3'");
        rejected(op("rotate", "--in", in.toString(), "--out", o, "--backend", "cpu", "--input-name", "missing"), "missing");
        rejected(op("gemm", "--in", in.toString(), "--out", o, "--backend", "cpu"), "K=16 but w has K=8");
        rejected(op("dequantize", "--in", in.toString(), "--out", o, "--backend", "cpu", "--bits", "8"), "codes");
        rejected(op("quantize", "--in", in.toString(), "--out", o, "--backend", "cpu", "--bits", "5"), "bits");
        Path v = SafetensorsWriter.write(dir.resolve("v.safetensors"), Map.of("x", data(2, 16, 0), "w", Tensor.ofFloats(new float[16], 16)),
                Map.of());
        rejected(op("gemm", "--in", v.toString(), "--out", o, "--backend", "cpu"), "expected rank 2");
    }
}
