package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apiguardian.api.API;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.UniqueId;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the conformance suite through the JUnit Platform launcher and prints the results grouped by
 * capability (passed / failed / unsupported), ending with exactly one line
 * {@code N passed, N failed, N skipped}. The CLI wraps it as {@code nibble conformance [--backend ID]}.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class ConformanceRunner {
    private static final int MAX_FAILURES_SHOWN = 5;

    private ConformanceRunner() {
    }

    /**
     * Runs {@link SelectedBackendConformance} against a backend.
     *
     * @param backendId a backend or device id ({@code cpu}, {@code cuda:0}), or null for automatic selection
     * @param out where the report goes
     * @return 1 if any test failed, else 0
     */
    public static int run(String backendId, PrintWriter out) {
        Map<String, String> config = new LinkedHashMap<>();
        if (backendId != null && !backendId.isBlank()) {
            config.put(BackendConformance.BACKEND, backendId.trim());
        }
        Summary s = execute(SelectedBackendConformance.class, config, out);
        return s.failed() > 0 || s.total() == 0 ? 1 : 0;
    }

    /**
     * Runs a suite class and prints the report.
     *
     * @param suite a {@link BackendConformance} subclass
     * @param configuration JUnit configuration parameters (system properties are consulted after them)
     * @param out where the report goes (flushed)
     * @return the counts
     */
    public static Summary execute(Class<? extends BackendConformance> suite, Map<String, String> configuration,
            PrintWriter out) {
        return execute(suite, configuration, out, new String[0]);
    }

    /**
     * Runs some areas of a suite class and prints the report.
     *
     * @param suite a {@link BackendConformance} subclass
     * @param configuration JUnit configuration parameters (system properties are consulted after them)
     * @param out where the report goes (flushed)
     * @param areas names of the suite's test factories to run ({@code core}, {@code rotations},
     *     {@code quantization}, {@code gemms}, {@code ditOps}, {@code fusedLinear},
     *     {@code bf16Activations}); none: all
     * @return the counts
     */
    public static Summary execute(Class<? extends BackendConformance> suite, Map<String, String> configuration,
            PrintWriter out, String... areas) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (String a : areas) {
            selectors.add(selectMethod(suite, a));
        }
        if (selectors.isEmpty()) {
            selectors.add(selectClass(suite));
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectors)
                .configurationParameters(configuration)
                .build();
        Collector collector = new Collector();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, collector);
        Summary summary = collector.summary();
        summary.print(out);
        out.flush();
        return summary;
    }

    /**
     * Entry point: {@code ConformanceRunner [backend-id]}.
     *
     * @param args an optional backend id
     */
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(run(args.length > 0 ? args[0] : null, out));
    }

    /**
     * The results of one capability (or of the suite's setup).
     *
     * @param name the capability, as its {@code describe()} says
     * @param passed passed tests
     * @param failed failed tests, with their messages
     * @param skipped skipped tests, with the reasons
     */
    @API(status = EXPERIMENTAL, since = "0.1")
    public record Group(String name, int passed, List<String> failed, List<String> skipped) {
        /** @return true if the capability was reported unsupported */
        public boolean unsupported() {
            return onlySkippedWith(Kit.UNSUPPORTED);
        }

        /** @return true if the backend declares the capability but the kit has no tests for it */
        public boolean notCovered() {
            return onlySkippedWith(Coverage.NOT_COVERED);
        }

        private boolean onlySkippedWith(String reason) {
            return passed == 0 && failed.isEmpty() && !skipped.isEmpty() && skipped.stream().allMatch(r -> r.contains(reason));
        }
    }

    /**
     * The counts of a run, grouped.
     *
     * @param groups the groups in execution order
     * @param entries the report entries the suite published (backend, capabilities, seed)
     */
    @API(status = EXPERIMENTAL, since = "0.1")
    public record Summary(List<Group> groups, Map<String, String> entries) {
        /** @return passed tests */
        public int passed() {
            return groups.stream().mapToInt(Group::passed).sum();
        }

        /** @return failed tests (and failed setup) */
        public int failed() {
            return groups.stream().mapToInt(g -> g.failed().size()).sum();
        }

        /** @return skipped tests (unsupported capabilities included) */
        public int skipped() {
            return groups.stream().mapToInt(g -> g.skipped().size()).sum();
        }

        /** @return every test counted */
        public int total() {
            return passed() + failed() + skipped();
        }

        /**
         * @param name a group name
         * @return that group
         */
        public Optional<Group> group(String name) {
            return groups.stream().filter(g -> g.name().equals(name)).findFirst();
        }

        void print(PrintWriter out) {
            out.println("Nibble conformance kit");
            entries.forEach((k, v) -> out.println("  " + k + ": " + v));
            for (Group g : groups) {
                String status = !g.failed().isEmpty() ? "FAIL" : g.unsupported() ? "UNSUPPORTED"
                        : g.notCovered() ? "NOT COVERED" : g.passed() > 0 ? "PASS" : "SKIP";
                out.printf("%-11s %s: %d passed, %d failed, %d skipped%n", status, g.name(), g.passed(),
                        g.failed().size(), g.skipped().size());
                for (int i = 0; i < Math.min(MAX_FAILURES_SHOWN, g.failed().size()); i++) {
                    out.println("              x " + g.failed().get(i).replace("\n", "\n                "));
                }
                if (g.failed().size() > MAX_FAILURES_SHOWN) {
                    out.println("              ... and " + (g.failed().size() - MAX_FAILURES_SHOWN) + " more failures");
                }
                if (g.unsupported() || g.notCovered()) {
                    out.println("              " + g.skipped().get(0));
                }
            }
            out.println(passed() + " passed, " + failed() + " failed, " + skipped() + " skipped");
        }
    }

    /** Collects results per capability group. */
    private static final class Collector implements TestExecutionListener {
        private final Map<String, int[]> passed = new LinkedHashMap<>();
        private final Map<String, List<String>> failed = new LinkedHashMap<>();
        private final Map<String, List<String>> skipped = new LinkedHashMap<>();
        private final List<String> order = new ArrayList<>();
        private final Map<String, String> entries = new LinkedHashMap<>();
        private TestPlan plan;

        @Override
        public void testPlanExecutionStarted(TestPlan testPlan) {
            this.plan = testPlan;
        }

        @Override
        public void reportingEntryPublished(TestIdentifier id, ReportEntry entry) {
            entries.putAll(entry.getKeyValuePairs());
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            skipped(groupOf(id)).add(id.getDisplayName() + ": " + reason);
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            boolean isTest = id.isTest();
            if (!isTest && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                return;
            }
            String group = groupOf(id);
            String message = id.getDisplayName() + ": " + result.getThrowable()
                    .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage()).orElse("");
            switch (result.getStatus()) {
                case SUCCESSFUL -> passed.computeIfAbsent(touch(group), g -> new int[1])[0]++;
                case ABORTED -> skipped(group).add(result.getThrowable().map(Throwable::getMessage).orElse(message));
                case FAILED -> failed.computeIfAbsent(touch(group), g -> new ArrayList<>()).add(message);
            }
        }

        private List<String> skipped(String group) {
            return skipped.computeIfAbsent(touch(group), g -> new ArrayList<>());
        }

        private String touch(String group) {
            if (!order.contains(group)) {
                order.add(group);
            }
            return group;
        }

        /** The capability container: the dynamic container right under a test factory. */
        private String groupOf(TestIdentifier id) {
            TestIdentifier cur = id;
            while (true) {
                Optional<TestIdentifier> parent = plan.getParent(cur);
                if (parent.isEmpty()) {
                    return "suite setup";
                }
                if (lastType(parent.get()).equals("test-factory") && lastType(cur).equals("dynamic-container")) {
                    return cur.getDisplayName();
                }
                if (lastType(cur).equals("class") || lastType(cur).equals("test-factory")) {
                    return "suite setup (" + cur.getDisplayName() + ")";
                }
                cur = parent.get();
            }
        }

        private static String lastType(TestIdentifier id) {
            List<UniqueId.Segment> segments = id.getUniqueIdObject().getSegments();
            return segments.get(segments.size() - 1).getType();
        }

        Summary summary() {
            List<Group> groups = new ArrayList<>();
            for (String g : order) {
                groups.add(new Group(g, passed.getOrDefault(g, new int[1])[0], List.copyOf(failed.getOrDefault(g, List.of())),
                        List.copyOf(skipped.getOrDefault(g, List.of()))));
            }
            return new Summary(List.copyOf(groups), Map.copyOf(entries));
        }
    }
}
