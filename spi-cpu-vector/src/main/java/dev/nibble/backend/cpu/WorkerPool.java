package dev.nibble.backend.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The backend's threads: the calling thread plus {@code threads − 1} helper threads run the
 * independent tiles of one operation: each thread first runs its own contiguous share, then helps with what is left.
 *
 * <p>Why not a fork/join pool: an M = 1 GEMV takes tens of microseconds, and handing it to parked
 * pool threads and parking the caller until they finish cost ~50 µs per call on this machine
 * (measured: an empty {@code forEach} over a fork/join pool). Here the caller never hands off: it
 * starts on the tiles at once, helpers join as soon as they wake, and a helper stays awake
 * (spinning) for {@link #SPIN_NANOS} after each operation, so back-to-back calls find it running.
 * The caller waits for the last tiles spinning, then parked.
 *
 * <p>One operation at a time uses the helpers; a call made while they are taken (from a tile, from
 * a helper thread, or from a second caller thread) runs its tiles on its own thread, so nested and
 * concurrent calls never deadlock. Each tile writes its own outputs, so results do not depend on
 * which thread ran it.
 */
final class WorkerPool implements AutoCloseable {
    /** How long a helper (and a waiting caller) spins before parking. */
    static final long SPIN_NANOS = 50_000;
    /** A helper idle (parked) this long exits; the next operation starts a new one. */
    static final long KEEP_ALIVE_NANOS = 10_000_000_000L;
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int threads;
    private final int id;
    private final Thread[] helpers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicReference<Job> current = new AtomicReference<>();
    private volatile boolean closed;

    /**
     * One operation: its tiles split into one contiguous range per thread (so a thread finds its
     * share of the weights in its own cache on the next call), claim cursors (a thread that is
     * done takes what is left of the others' ranges), the completion count and the first failure.
     */
    private static final class Job {
        private static final int PAD = 16; // one cursor per cache line
        final IntConsumer body;
        final int tasks;
        final int slots;
        final AtomicIntegerArray cursors;
        final AtomicInteger done = new AtomicInteger();
        final Thread caller;
        volatile boolean callerParked;
        volatile Throwable failure;

        Job(IntConsumer body, int tasks, int slots, Thread caller) {
            this.body = body;
            this.tasks = tasks;
            this.slots = slots;
            this.caller = caller;
            this.cursors = new AtomicIntegerArray(slots * PAD);
            for (int s = 0; s < slots; s++) {
                cursors.set(s * PAD, start(s));
            }
        }

        private int start(int slot) {
            return (int) ((long) tasks * slot / slots);
        }

        /** Runs the tiles of {@code slot}'s range, then any left in the other ranges. */
        void work(int slot) {
            int finished = 0;
            for (int j = 0; j < slots; j++) {
                int s = (slot + j) % slots;
                int end = start(s + 1);
                for (int i; (i = cursors.getAndIncrement(s * PAD)) < end; ) {
                    try {
                        body.accept(i);
                    } catch (Throwable t) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                    finished++;
                }
            }
            if (finished > 0 && done.addAndGet(finished) == tasks && callerParked) {
                LockSupport.unpark(caller);
            }
        }
    }

    WorkerPool(int threads) {
        this.threads = Math.max(1, threads);
        this.id = POOLS.incrementAndGet();
        this.helpers = new Thread[this.threads - 1];
        for (int h = 0; h < helpers.length; h++) {
            startHelper(h);
        }
    }

    private void startHelper(int h) {
        Thread t = new Thread(() -> helperLoop(h + 1), "nibble-cpu-" + id + "-" + (h + 1));
        t.setDaemon(true);
        helpers[h] = t;
        t.start();
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body(i)} for every i in [0, tasks), spread over the caller and the helpers.
     *
     * @param tasks number of independent tasks
     * @param body the work of one task
     */
    void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (helpers.length == 0 || tasks == 1 || closed || !busy.compareAndSet(false, true)) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        Job job = new Job(body, tasks, threads, Thread.currentThread());
        try {
            current.set(job);
            for (int h = 0; h < helpers.length; h++) {
                if (!helpers[h].isAlive()) {
                    startHelper(h); // it had been idle past KEEP_ALIVE_NANOS
                } else {
                    LockSupport.unpark(helpers[h]);
                }
            }
            job.work(0);
            awaitDone(job);
        } finally {
            current.set(null);
            busy.set(false);
        }
        Throwable f = job.failure;
        if (f instanceof RuntimeException e) {
            throw e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    private static void awaitDone(Job job) {
        long start = System.nanoTime();
        while (job.done.get() < job.tasks) {
            if (System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                job.callerParked = true;
                if (job.done.get() < job.tasks) {
                    LockSupport.park(job);
                }
            }
        }
    }

    private void helperLoop(int slot) {
        Job last = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job job = current.get();
            if (job != null && job != last) {
                last = job;
                job.work(slot);
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else if (System.nanoTime() - idleSince < KEEP_ALIVE_NANOS) {
                LockSupport.parkNanos(this, KEEP_ALIVE_NANOS);
            } else {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
    }
}
