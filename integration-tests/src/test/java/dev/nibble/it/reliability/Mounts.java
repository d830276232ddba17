package dev.nibble.it.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** File systems a test makes for itself: a size-limited or read-only tmpfs (needs root). */
final class Mounts {
    private Mounts() {
    }

    /** @return null if this process may mount, else why not (the reason a test skips with) */
    static String whyNotMountable() {
        try {
            Process p = new ProcessBuilder("id", "-u").start();
            String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            p.waitFor();
            if (!uid.equals("0")) {
                return "not root (uid " + uid + "): mounting a tmpfs needs root";
            }
            return null;
        } catch (IOException | InterruptedException e) {
            return "cannot tell the user id: " + e;
        }
    }

    /** Mounts a tmpfs on dir; returns null, or the error when mount is refused (e.g. no CAP_SYS_ADMIN). */
    static String tmpfs(Path dir, String options) {
        return exec("mount", "-t", "tmpfs", "-o", options, "nibble-test", dir.toString());
    }

    static String remountReadOnly(Path dir) {
        return exec("mount", "-o", "remount,ro", dir.toString());
    }

    static void unmount(Path dir) {
        exec("umount", dir.toString());
    }

    private static String exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? null : String.join(" ", cmd) + ": " + out;
        } catch (IOException | InterruptedException e) {
            return String.join(" ", cmd) + ": " + e;
        }
    }
}
