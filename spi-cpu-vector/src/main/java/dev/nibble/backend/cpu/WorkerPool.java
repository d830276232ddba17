package dev.nibble.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The backend's threads: a fork/join pool of a fixed size that runs independent tiles of an
 * operation. Calls from inside the pool (nested work) run in the caller's task, so several
 * operations may run at once without deadlock.
 */
final class WorkerPool implements AutoCloseable {
    private static final AtomicInteger POOLS = new AtomicInteger();
    private final ForkJoinPool pool;
    private final int threads;

    WorkerPool(int threads) {
        this.threads = threads;
        int id = POOLS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        this.pool = threads <= 1 ? null : new ForkJoinPool(threads, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("nibble-cpu-" + id + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body(i)} for every i in [0, tasks), spread over the pool.
     *
     * @param tasks number of independent tasks
     * @param body the work of one task
     */
    void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (pool == null || tasks == 1) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        // at most a few chunks per thread: tasks are tiles of similar cost
        int chunks = Math.min(tasks, threads * 4);
        List<RecursiveAction> parts = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            int from = (int) ((long) tasks * c / chunks);
            int to = (int) ((long) tasks * (c + 1) / chunks);
            parts.add(new RecursiveAction() {
                @Override
                protected void compute() {
                    for (int i = from; i < to; i++) {
                        body.accept(i);
                    }
                }
            });
        }
        RecursiveAction all = new RecursiveAction() {
            @Override
            protected void compute() {
                ForkJoinTask.invokeAll(parts);
            }
        };
        if (ForkJoinTask.inForkJoinPool() && ForkJoinTask.getPool() == pool) {
            all.invoke();
        } else {
            pool.invoke(all);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
