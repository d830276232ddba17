package dev.nibble.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.RandomDit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streams a multi-GB checkpoint through the quantizer and records peak anonymous memory (heap and
 * off-heap, not the file-backed pages of the memory map). Opt-in, so CI stays fast:
 * {@code -Dnibble.bigtest=true} (and optionally {@code -Dnibble.bigtest.hidden=1536 -Dnibble.bigtest.depth=20}).
 */
@EnabledIfSystemProperty(named = "nibble.bigtest", matches = "true", disabledReason = "multi-GB test; opt in with -Dnibble.bigtest=true")
class LargeCheckpointStreamingTest {
    @TempDir
    Path dir;

    @Test
    void quantizesAMultiGigabyteCheckpointLayerByLayer() throws Exception {
        int d = Integer.getInteger("nibble.bigtest.hidden", 1536);
        int depth = Integer.getInteger("nibble.bigtest.depth", 20);
        DitConfig c = new DitConfig(32, 2, 4, d, depth, 16, 4.0, 1000, false, 256);
        Path fp = RandomDit.write(dir.resolve("big.safetensors"), c, 1, DType.F32);
        long fileBytes = Files.size(fp);
        assertThat(fileBytes).isGreaterThan(2L << 30);
        long largestLayer = 4L * d * (4L * d) * 4; // fc1/fc2 at F32
        System.gc();
        long baseline = rssAnon();
        AtomicLong peak = new AtomicLong(baseline);
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(rssAnon(), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Path q = dir.resolve("big-q.safetensors");
        long t0 = System.nanoTime();
        try (DitModel m = DitModel.load(fp)) {
            ModelQuantizer.quantizeToFile(m, new TestRtnMethod(), MethodOptions.of(Precision.W4A8), Calibration.none(), q,
                    (done, total, name) -> { });
        }
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        sampler.interrupt();
        sampler.join();
        long peakAbove = peak.get() - baseline;
        String line = String.format("big checkpoint %.2f GB (D=%d, depth=%d) -> %.2f GB in %d s; peak anonymous RSS above baseline "
                + "%.0f MB; largest layer %.0f MB; max heap %d MB", fileBytes / 1e9, d, depth, Files.size(q) / 1e9, seconds,
                peakAbove / 1e6, largestLayer / 1e6, Runtime.getRuntime().maxMemory() >> 20);
        System.out.println(line);
        Files.writeString(Path.of(System.getProperty("nibble.bigtest.report", "target/bigtest.txt")), line + "\n");
        assertThat(peakAbove).isLessThan(Math.max(12 * largestLayer, fileBytes / 4));
        try (DitModel back = DitModel.load(q); DitModel m = DitModel.load(fp)) {
            assertThat(back.plans()).hasSize(m.plans().size());
            LinearLayer l = m.linearLayers().stream().filter(x -> x.name().equals("blocks.3.mlp.fc2")).findFirst().orElseThrow();
            QuantizedLinear want = new TestRtnMethod().quantize(l, Calibration.none(), MethodOptions.of(Precision.W4A8));
            QuantizedCheckpointTest.assertSamePlan(want, back.plans().get("blocks.3.mlp.fc2"));
        }
    }

    private static long rssAnon() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("RssAnon:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException e) {
            // not Linux: report 0
        }
        return 0;
    }
}
