package dev.nibble.backend.cpu;

import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The processor's marketing name for the device name: /proc/cpuinfo's "model name" on Linux, else the JVM's os.arch. */
final class CpuModelName {
    static final Path PROC_CPUINFO = Path.of("/proc/cpuinfo");

    private CpuModelName() {
    }

    /** @return e.g. "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", or "amd64 CPU" where it cannot be read */
    static String detect() {
        String m = fromCpuinfo(PROC_CPUINFO);
        return m != null ? m : System.getProperty("os.arch", "unknown") + " CPU";
    }

    /**
     * Never throws: a missing, unreadable or odd file gives null.
     *
     * @param cpuinfo a file in /proc/cpuinfo's format
     * @return the first non-empty "model name" value, whitespace collapsed, or null
     */
    static String fromCpuinfo(Path cpuinfo) {
        try {
            if (!Files.isReadable(cpuinfo)) {
                return null;
            }
            try (BufferedReader r = Files.newBufferedReader(cpuinfo, StandardCharsets.ISO_8859_1)) {
                for (int i = 0; i < 10_000; i++) { // one entry per core; the first suffices, the cap guards odd files
                    String line = r.readLine();
                    if (line == null) {
                        return null;
                    }
                    int colon = line.indexOf(':');
                    if (colon > 0 && line.substring(0, colon).trim().equals("model name")) {
                        String v = line.substring(colon + 1).trim().replaceAll("\\s+", " ");
                        if (!v.isEmpty()) {
                            return v.length() > 120 ? v.substring(0, 120) : v;
                        }
                    }
                }
                return null;
            }
        } catch (Exception | LinkageError e) {
            return null; // the probe must not fail over a name
        }
    }
}
