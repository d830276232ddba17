package dev.nibble.it.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 10,000 prepare/forward/close cycles on small shapes leave the process where it was: Java heap after
 * GC, direct/native segments (the JDK's "direct" pool counts MemorySegments from Arenas), threads, and
 * resident memory outside the Java heap (RSS minus committed heap: what native runtimes such as PoCL
 * allocate, plus the JIT's code cache). The OpenCL
 * backend's own buffer counters are asserted in spi-opencl's OpenClResourceTest; CUDA's
 * cuMemGetInfo in spi-cuda's CudaReliabilityTest.
 */
class LeakTest {
    static final int CYCLES = 10_000;

    static List<String> backends() {
        return Fixtures.backendIds();
    }

    /** A snapshot of what the process holds. */
    record Usage(long heap, long direct, int threads, long rss) {
        static Usage now() {
            // Arena.ofAuto memory goes back when the Cleaner thread runs after a GC: give it time
            for (int i = 0; i < 3; i++) {
                System.gc();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            long direct = 0;
            for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (b.getName().equals("direct")) {
                    direct = b.getMemoryUsed();
                }
            }
            var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            // resident memory outside the Java heap: the heap's own growth is GC sizing, not a leak
            return new Usage(heap.getUsed(), direct, Thread.activeCount(), rssBytes() - heap.getCommitted());
        }

        static long rssBytes() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                    }
                }
            } catch (IOException e) {
                // not Linux: RSS is not checked
            }
            return 0;
        }
    }

    static void cycle(KernelBackend b, QuantizedLinear plan, Tensor x) {
        try (PreparedLinear p = b.prepare(plan)) {
            Fixtures.forward(b, p, x);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void tenThousandPrepareForwardCloseCyclesDoNotGrow(String family) {
        int k = 64;
        int n = 32;
        List<QuantizedLinear> plans = Fixtures.plans(k, n);
        Tensor x = Fixtures.random(new Random(1), 1f, 4, k);
        try (KernelBackend b = Fixtures.open(family)) {
            for (int i = 0; i < 1000; i++) { // warm-up: JIT, pools, kernel caches
                cycle(b, plans.get(i % plans.size()), x);
            }
            Usage before = Usage.now();
            long t0 = System.nanoTime();
            for (int i = 0; i < CYCLES; i++) {
                cycle(b, plans.get(i % plans.size()), x);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Usage after = Usage.now();
            System.out.printf(Locale.ROOT, "LEAK %s: %d cycles in %.1f s; heap after GC %+d KiB (%d -> %d), direct %+d B,"
                    + " threads %+d, RSS outside heap %+d KiB (%d -> %d KiB)%n", family, CYCLES, seconds,
                    (after.heap() - before.heap()) / 1024, before.heap() / 1024, after.heap() / 1024,
                    after.direct() - before.direct(), after.threads() - before.threads(),
                    (after.rss() - before.rss()) / 1024, before.rss() / 1024, after.rss() / 1024);
            // a leak of one small weight (1 KiB) per cycle would be 10 MiB
            assertThat(after.heap() - before.heap()).as("heap growth after GC").isLessThan(4L << 20);
            assertThat(after.direct() - before.direct()).as("native segment growth").isLessThan(256L << 10);
            assertThat(after.threads()).as("threads").isLessThanOrEqualTo(before.threads());
            assertThat(after.rss() - before.rss()).as("resident memory outside the heap, growth").isLessThan(16L << 20);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void openingAndClosingTheBackendLeavesNoThreadsOrMemory(String family) {
        QuantizedLinear plan = Fixtures.plans(64, 32).getFirst();
        Tensor x = Fixtures.random(new Random(2), 1f, 4, 64);
        int rounds = family.equals("cpu") ? 300 : 30;
        for (int i = 0; i < 5; i++) {
            try (KernelBackend b = Fixtures.open(family)) {
                cycle(b, plan, x);
            }
        }
        Usage before = Usage.now();
        for (int i = 0; i < rounds; i++) {
            try (KernelBackend b = Fixtures.open(family)) {
                cycle(b, plan, x);
            }
        }
        Usage after = Usage.now();
        System.out.printf(Locale.ROOT, "LEAK %s: %d backend open/close: heap %+d KiB, direct %+d B, threads %+d, RSS outside heap %+d KiB%n",
                family, rounds, (after.heap() - before.heap()) / 1024, after.direct() - before.direct(),
                after.threads() - before.threads(), (after.rss() - before.rss()) / 1024);
        assertThat(after.threads()).as("threads after closing every backend").isLessThanOrEqualTo(before.threads());
        assertThat(after.heap() - before.heap()).as("heap growth after GC").isLessThan(4L << 20);
        assertThat(after.rss() - before.rss()).as("resident memory outside the heap, growth").isLessThan(32L << 20);
    }
}
