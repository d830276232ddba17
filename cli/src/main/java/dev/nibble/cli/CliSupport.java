package dev.nibble.cli;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Argument parsing and checks the model commands share. */
final class CliSupport {
    private CliSupport() {
    }

    /** @return the backend named (or chosen by property, environment, priority) */
    static KernelBackend backend(String id) {
        return Backends.open(id);
    }

    /**
     * @param spec {@code 0-9}, {@code 1,3,5} or a mix ({@code 0-2,7})
     * @return the classes, sorted, distinct
     */
    static int[] classes(String spec) {
        TreeSet<Integer> out = new TreeSet<>();
        try {
            for (String part : spec.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int dash = p.indexOf('-', 1);
                if (dash > 0) {
                    int a = Integer.parseInt(p.substring(0, dash).trim());
                    int b = Integer.parseInt(p.substring(dash + 1).trim());
                    if (b < a) {
                        throw new InvalidInputException("--classes: empty range '" + p + "'");
                    }
                    for (int i = a; i <= b; i++) {
                        out.add(i);
                    }
                } else {
                    out.add(Integer.parseInt(p));
                }
            }
        } catch (NumberFormatException e) {
            throw new InvalidInputException("--classes: '" + spec + "' is not a list like 0-9 or 1,3,5");
        }
        if (out.isEmpty() || out.first() < 0) {
            throw new InvalidInputException("--classes: '" + spec + "' names no non-negative class");
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** @return k=v options as a map */
    static Map<String, String> options(List<String> kvs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : kvs == null ? List.<String>of() : kvs) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new InvalidInputException("--option '" + kv + "' is not key=value");
            }
            m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return m;
    }

    /** @return comma-separated items, trimmed, non-empty */
    static List<String> list(String csv) {
        List<String> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /** Fails if the file does not exist (before anything is written). */
    static Path existing(Path p, String what) {
        if (!Files.isRegularFile(p)) {
            throw new InvalidInputException(what + " " + p + ": no such file");
        }
        return p;
    }

    /** Fails if the output's directory cannot hold it. */
    static Path output(Path p, String what) {
        Path parent = p.toAbsolutePath().getParent();
        if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
            throw new InvalidInputException(what + " " + p + ": " + parent + " is not a directory");
        }
        if (Files.isDirectory(p)) {
            throw new InvalidInputException(what + " " + p + " is a directory");
        }
        return p;
    }

    static void positive(int v, String option) {
        if (v < 1) {
            throw new InvalidInputException(option + " must be at least 1, got " + v);
        }
    }
}
