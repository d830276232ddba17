package dev.nibble.guice;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.backend.KernelBackend;
import java.util.ArrayList;
import java.util.List;
import org.apiguardian.api.API;

/**
 * Closes what {@link NibbleModule} opened. A JVM shutdown hook calls {@link #close()}; an
 * application that stops earlier (a test, a hot redeploy) calls it itself. Idempotent.
 */
@API(status = STABLE, since = "0.1")
public final class NibbleLifecycle implements AutoCloseable {
    private final List<KernelBackend> open = new ArrayList<>();
    private boolean closed;
    private Thread hook;

    synchronized void register(KernelBackend backend) {
        if (closed) {
            backend.close();
            throw new IllegalStateException("Nibble was already shut down");
        }
        open.add(backend);
        if (hook == null) {
            hook = new Thread(this::close, "nibble-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
        }
    }

    /** @return true once {@link #close()} ran */
    public synchronized boolean isClosed() {
        return closed;
    }

    /** Closes every backend opened through the injector. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KernelBackend b : open) {
            b.close();
        }
        open.clear();
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already shutting down: the hook runs or ran
            }
        }
    }
}
