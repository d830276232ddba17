package dev.nibble.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Turns JMH JSON results ({@code -rf json}) of {@link GemmBenchmark} and {@link HadamardBenchmark}
 * into Markdown tables: the median time per call, GOPS = 2·M·N·K / median, the ratio to Nibble's
 * {@code f32} GEMM on the same shape from the same file, and for the rotation its bandwidth next to
 * the copies. Usage: {@code java -cp ... dev.nibble.bench.Report results.json [more.json ...]}.
 */
public final class Report {
    private Report() {
    }

    private record Row(String impl, int m, String kn, double medianMs, long samples) {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: Report <jmh-result.json>...");
            System.exit(2);
        }
        List<Row> gemm = new ArrayList<>();
        Map<String, double[]> hadamard = new LinkedHashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (String file : args) {
            for (JsonNode r : json.readTree(Files.readString(Path.of(file)))) {
                String bench = r.path("benchmark").asText();
                JsonNode p = r.path("params");
                JsonNode metric = r.path("primaryMetric");
                double median = metric.path("scorePercentiles").path("50.0").asDouble(metric.path("score").asDouble());
                long samples = 0;
                for (JsonNode fork : metric.path("rawDataHistogram")) {
                    for (JsonNode iteration : fork) {
                        for (JsonNode bin : iteration) {
                            samples += bin.path(1).asLong();
                        }
                    }
                }
                if (bench.endsWith("GemmBenchmark.gemm")) {
                    gemm.add(new Row(p.path("impl").asText(), p.path("m").asInt(), p.path("kn").asText(), median, samples));
                } else if (bench.contains("HadamardBenchmark.")) {
                    String name = bench.substring(bench.lastIndexOf('.') + 1);
                    double bytes = 4.0 * p.path("m").asInt() * p.path("k").asInt();
                    hadamard.put(name + " (M=" + p.path("m").asText() + ", K=" + p.path("k").asText() + ")",
                            new double[] {median, bytes, samples});
                }
            }
        }
        System.out.print(gemmTables(gemm));
        System.out.print(hadamardTable(hadamard));
    }

    static String gemmTables(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        List<String> kns = rows.stream().map(Row::kn).distinct().sorted((x, y) -> Double.compare(ops(x), ops(y))).toList();
        for (String kn : kns) {
            TreeSet<Integer> ms = new TreeSet<>();
            List<String> impls = new ArrayList<>();
            for (Row r : rows) {
                if (r.kn().equals(kn)) {
                    ms.add(r.m());
                    if (!impls.contains(r.impl())) {
                        impls.add(r.impl());
                    }
                }
            }
            b.append("\n**K×N = ").append(kn).append("** — GOPS (median), ×f32 = ratio to Nibble f32 on the same shape\n\n");
            b.append("| impl |");
            ms.forEach(m -> b.append(" M=").append(m).append(" |"));
            b.append("\n|---|");
            ms.forEach(m -> b.append("---:|"));
            b.append('\n');
            for (String impl : impls) {
                b.append("| ").append(impl).append(" |");
                for (int m : ms) {
                    Row r = find(rows, impl, m, kn);
                    Row base = find(rows, "f32", m, kn);
                    if (r == null) {
                        b.append(" — |");
                        continue;
                    }
                    double gops = GemmShape.parse(m, kn).ops() / (r.medianMs() * 1e6);
                    b.append(String.format(Locale.ROOT, " %.1f", gops));
                    if (base != null && !impl.equals("f32")) {
                        b.append(String.format(Locale.ROOT, " (×%.2f)", base.medianMs() / r.medianMs()));
                    }
                    b.append(" |");
                }
                b.append('\n');
            }
        }
        return b.toString();
    }

    private static double ops(String kn) {
        return GemmShape.parse(1, kn).ops();
    }

    private static Row find(List<Row> rows, String impl, int m, String kn) {
        return rows.stream().filter(r -> r.impl().equals(impl) && r.m() == m && r.kn().equals(kn)).findFirst()
                .orElse(null);
    }

    static String hadamardTable(Map<String, double[]> results) {
        if (results.isEmpty()) {
            return "";
        }
        double copy = results.entrySet().stream().filter(e -> e.getKey().startsWith("segmentCopy"))
                .mapToDouble(e -> e.getValue()[0]).findFirst().orElse(Double.NaN);
        StringBuilder b = new StringBuilder("\n**Grouped regular Hadamard (block 256) vs copy** — read+write GB/s of the same bytes\n\n"
                + "| benchmark | median ms | GB/s | % of segmentCopy |\n|---|---:|---:|---:|\n");
        results.forEach((name, v) -> b.append(String.format(Locale.ROOT, "| %s | %.2f | %.1f | %.0f%% |%n", name, v[0],
                2 * v[1] / (v[0] * 1e6), 100 * copy / v[0])));
        return b.toString();
    }
}
