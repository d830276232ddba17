package dev.nibble.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Precision;
import dev.nibble.api.method.UnknownMethodException;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.HostBackend;
import dev.nibble.model.dit.RandomDit;
import dev.nibble.model.eval.Evaluation;
import dev.nibble.model.metrics.DigitClassifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluationTest {
    @TempDir
    Path dir;

    @Test
    void evaluatesVariantsAndWritesReports() throws Exception {
        DitConfig c = new DitConfig(8, 2, 1, 32, 2, 2, 4.0, 3, false, 256);
        Path f = RandomDit.write(dir.resolve("m.safetensors"), c, 9, DType.F32);
        SplittableRandom r = new SplittableRandom(2);
        float[] w1 = new float[16 * 64];
        float[] w2 = new float[3 * 16];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) r.nextGaussian() * 0.2f;
        }
        for (int i = 0; i < w2.length; i++) {
            w2[i] = (float) r.nextGaussian();
        }
        DigitClassifier clf = new DigitClassifier(w1, new float[16], w2, new float[3], 64, 16, 3);
        Path out = dir.resolve("eval");
        var settings = new Evaluation.Settings(new int[] {0, 2}, 3, 4, 1.5, 1, 4, 4, 8);
        try (HostBackend be = new HostBackend(); DitModel m = DitModel.load(f)) {
            var res = Evaluation.run(m, be, id -> {
                if (!id.equals("test-rtn")) {
                    throw new UnknownMethodException("unknown method '" + id + "'");
                }
                return new TestRtnMethod();
            }, List.of(new Evaluation.Variant("test-rtn", Precision.W8A8, Map.of()),
                    new Evaluation.Variant("test-rtn", Precision.W4A4, Map.of()),
                    new Evaluation.Variant("test-rtn", Precision.W4A8, Map.of())), settings, clf, null, out, (d, t, msg) -> { });
            assertThat(res.rows()).hasSize(4);
            var fp = res.rows().get(0);
            assertThat(fp.psnr()).isInfinite();
            assertThat(fp.ssim()).isEqualTo(1.0);
            assertThat(fp.fd()).isCloseTo(0, org.assertj.core.api.Assertions.within(1e-6));
            var w8 = res.rows().get(1);
            assertThat(w8.status()).isEqualTo("ok");
            assertThat(w8.psnr()).isFinite().isGreaterThan(10);
            assertThat(w8.bytes()).isLessThan(fp.bytes());
            assertThat(res.rows().get(2).status()).startsWith("skipped").contains("W4A4");
            var w4 = res.rows().get(3);
            assertThat(w4.psnr()).isLessThan(w8.psnr()); // 4-bit weights lose more than 8-bit ones
            assertThat(Files.readString(out.resolve("report.md"))).contains("| test-rtn-w8a8 |").contains("fp32.png");
            assertThat(Files.readString(out.resolve("results.json"))).contains("\"psnr_db\"");
            assertThat(out.resolve("test-rtn-w4a8.png")).exists();
            assertThatThrownBy(() -> Evaluation.run(m, be, id -> {
                throw new UnknownMethodException("unknown method '" + id + "'");
            }, List.of(new Evaluation.Variant("nope", Precision.W8A8, Map.of())), settings, clf, null, dir.resolve("x"),
                    (d, t, msg) -> { })).isInstanceOf(UnknownMethodException.class);
            assertThat(dir.resolve("x")).doesNotExist();
        }
    }
}
