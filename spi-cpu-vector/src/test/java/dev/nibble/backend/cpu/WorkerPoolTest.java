package dev.nibble.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
    @Test
    void everyTaskRunsExactlyOnceForManyBackToBackCalls() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int tasks : new int[] {1, 2, 3, 7, 64, 1000}) {
                for (int round = 0; round < 200; round++) {
                    AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                    pool.forEach(tasks, runs::incrementAndGet);
                    for (int i = 0; i < tasks; i++) {
                        assertThat(runs.get(i)).as("task %d of %d", i, tasks).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void nestedAndConcurrentCallsCompleteOnTheirCallersThreads() throws Exception {
        try (WorkerPool pool = new WorkerPool(2);
                ExecutorService callers = Executors.newFixedThreadPool(3)) {
            Future<?>[] f = new Future<?>[3];
            AtomicIntegerArray runs = new AtomicIntegerArray(3 * 16 * 16);
            for (int c = 0; c < 3; c++) {
                int base = c * 256;
                f[c] = callers.submit(() -> pool.forEach(16, i -> pool.forEach(16, j -> runs.incrementAndGet(base + i * 16 + j))));
            }
            for (Future<?> x : f) {
                x.get();
            }
            for (int i = 0; i < runs.length(); i++) {
                assertThat(runs.get(i)).as("task %d", i).isEqualTo(1);
            }
        }
    }

    @Test
    void aFailingTaskIsRethrownToTheCallerAfterTheOthersFinish() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(32);
            assertThatThrownBy(() -> pool.forEach(32, i -> {
                runs.incrementAndGet(i);
                if (i == 5) {
                    throw new IllegalArgumentException("tile 5");
                }
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("tile 5");
            for (int i = 0; i < 32; i++) {
                assertThat(runs.get(i)).isEqualTo(1);
            }
            AtomicIntegerArray again = new AtomicIntegerArray(8);
            pool.forEach(8, again::incrementAndGet);
            assertThat(again.get(7)).isEqualTo(1);
        }
    }
}
