package dev.nibble.cli;

import dev.nibble.api.method.ProgressListener;
import java.io.PrintWriter;

/** A one-line progress bar on stderr, redrawn at most every 100 ms. */
final class ProgressBar implements ProgressListener {
    private final PrintWriter err;
    private final String label;
    private long last;
    private int width;

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public synchronized void progress(long done, long total, String message) {
        long now = System.nanoTime();
        if (done < total && now - last < 100_000_000L) {
            return;
        }
        last = now;
        int cells = 30;
        int filled = total <= 0 ? 0 : (int) Math.min(cells, done * cells / total);
        String line = String.format("%s [%s%s] %3d%% %s", label, "#".repeat(filled), ".".repeat(cells - filled),
                total <= 0 ? 0 : done * 100 / total, message == null ? "" : message);
        if (line.length() > 110) {
            line = line.substring(0, 110);
        }
        err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
        width = line.length();
        err.flush();
    }

    /** Ends the bar's line. */
    synchronized void done() {
        if (width > 0) {
            err.println();
            err.flush();
            width = 0;
        }
    }
}
