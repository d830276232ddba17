package dev.nibble.bench;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A complement to the JMH runs for a machine shared with other work: every implementation of one
 * shape lives in one JVM and they are timed round-robin, one batch each per round, so a change of
 * load hits all of them alike; each round gives a <em>paired</em> ratio to {@code f32}, and the
 * median of those ratios is reported beside the median GOPS. JMH (separate forks, measured minutes
 * apart) stays the reference for absolute numbers; this is the reference for ratios under load.
 *
 * <p>ONNX Runtime's idle threads are told not to spin here, so they do not steal the cores from the
 * next implementation of the round (in JMH each runs alone and keeps ORT's default).
 *
 * <p>Usage: {@code Interleaved <m> <KxN> <rounds> <impl,impl,...>} (the impl names of
 * {@link GemmBenchmark}); prints one Markdown row per implementation.
 */
public final class Interleaved {
    private Interleaved() {
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: Interleaved <m> <KxN> <rounds> <impl,impl,...>");
            System.exit(2);
        }
        System.setProperty(OrtCases.NO_SPIN, "true");
        GemmShape s = GemmShape.parse(Integer.parseInt(args[0]), args[1]);
        int rounds = Integer.parseInt(args[2]);
        List<String> impls = List.of(args[3].split(","));
        if (!impls.contains("f32")) {
            throw new IllegalArgumentException("the impl list must contain f32, the baseline of the ratios");
        }
        Map<String, GemmCase> cases = new LinkedHashMap<>();
        List<KernelBackend> backends = new ArrayList<>();
        for (String impl : impls) {
            GemmBenchmark b = new GemmBenchmark();
            b.impl = impl;
            b.m = s.m();
            b.kn = args[1];
            b.backend = "cpu";
            b.setUp();
            cases.put(impl, b.gemmCase());
            if (b.nibbleBackend() != null) {
                backends.add(b.nibbleBackend());
            }
        }
        // batch size per implementation: enough calls for ~100 ms, measured after two warm-up calls
        Map<String, Integer> batch = new LinkedHashMap<>();
        for (var e : cases.entrySet()) {
            for (int i = 0; i < 2; i++) {
                e.getValue().run();
            }
            long t0 = System.nanoTime();
            e.getValue().run();
            double ms = (System.nanoTime() - t0) / 1e6;
            batch.put(e.getKey(), (int) Math.max(1, Math.min(1000, 100 / Math.max(ms, 1e-3))));
        }
        Map<String, double[]> times = new LinkedHashMap<>();
        impls.forEach(i -> times.put(i, new double[rounds]));
        for (int r = 0; r < rounds; r++) {
            for (var e : cases.entrySet()) {
                int n = batch.get(e.getKey());
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    e.getValue().run();
                }
                times.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6 / n;
            }
        }
        double[] base = times.get("f32");
        System.out.printf(Locale.ROOT, "%n**Interleaved, M=%d, K×N=%s, %d rounds** (load %s)%n%n", s.m(), args[1], rounds,
                loadAverage());
        System.out.println("| impl | median ms | GOPS | median paired ×f32 |\n|---|---:|---:|---:|");
        for (var e : times.entrySet()) {
            double[] t = e.getValue();
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = base[r] / t[r];
            }
            double med = median(t);
            System.out.printf(Locale.ROOT, "| %s | %.3f | %.1f | %.2f |%n", e.getKey(), med, s.ops() / (med * 1e6),
                    median(ratio));
        }
        cases.values().forEach(GemmCase::close);
        backends.forEach(KernelBackend::close);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
