package dev.nibble.it.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.backend.ProviderStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One {@link PreparedLinear} driven by 16 threads at once gives every thread exactly (bit for bit)
 * the serial answer; discovery, selection and backend open/close from 16 threads at once are safe.
 */
class ConcurrencyTest {
    static final int THREADS = 16;

    static List<String> backends() {
        return Fixtures.backendIds();
    }

    /** Runs the task on 16 threads released together by a barrier; rethrows the first failure. */
    static <T> List<T> onSixteenThreads(Callable<T> task) throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                fs.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void onePreparedLinearFromSixteenThreadsIsBitIdenticalToSerial(String family) throws Exception {
        int k = 256;
        int n = 64;
        Random r = new Random(5);
        Tensor[] xs = new Tensor[THREADS];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = Fixtures.random(r, 1f, 7, k);
        }
        try (KernelBackend b = Fixtures.open(family)) {
            for (QuantizedLinear plan : Fixtures.plans(k, n)) {
                try (PreparedLinear p = b.prepare(plan)) {
                    byte[][] serial = new byte[xs.length][];
                    for (int i = 0; i < xs.length; i++) {
                        serial[i] = Fixtures.forward(b, p, xs[i]);
                    }
                    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
                    List<Integer> mismatches = onSixteenThreads(() -> {
                        int id = next.getAndIncrement();
                        int bad = 0;
                        for (int rep = 0; rep < 12; rep++) {
                            int which = (id + rep) % xs.length;
                            if (!Arrays.equals(Fixtures.forward(b, p, xs[which]), serial[which])) {
                                bad++;
                            }
                        }
                        return bad;
                    });
                    assertThat(mismatches).as(family + " " + plan.name() + ": outputs differing from serial, per thread")
                            .containsOnly(0);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void discoverySelectionAndOpenCloseFromSixteenThreads(String family) throws Exception {
        try (KernelBackend probeOpen = Fixtures.open(family)) {
            // skips when unavailable; also gives the serial answer
            QuantizedLinear plan = Fixtures.plans(128, 32).getFirst();
            Tensor x = Fixtures.random(new Random(3), 1f, 3, 128);
            byte[] want;
            try (PreparedLinear p = probeOpen.prepare(plan)) {
                want = Fixtures.forward(probeOpen, p, x);
            }
            String device = probeOpen.id();
            List<String> expectedIds = Backends.available().stream().map(s -> s.id() + "=" + s.available()).toList();
            int rounds = family.equals("cpu") ? 8 : 2;
            List<Boolean> ok = onSixteenThreads(() -> {
                for (int i = 0; i < rounds; i++) {
                    List<ProviderStatus> all = Backends.available();
                    if (!all.stream().map(s -> s.id() + "=" + s.available()).toList().equals(expectedIds)) {
                        return false;
                    }
                    Backends.Selection s = Backends.select(all, device, Set.of());
                    if (!s.device().id().equals(device)) {
                        return false;
                    }
                    try (KernelBackend b = Backends.open(all, device, Set.of(), Map.of()); PreparedLinear p = b.prepare(plan)) {
                        if (!Arrays.equals(Fixtures.forward(b, p, x), want)) {
                            return false;
                        }
                    }
                }
                return true;
            });
            assertThat(ok).as(family + ": every thread discovered, selected, opened, ran and closed correctly").containsOnly(true);
        }
    }
}
