package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.KernelBackend;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apiguardian.api.API;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestInstancePostProcessor;

/**
 * The conformance suite every kernel backend runs. Subclass it in your backend's tests and
 * implement {@link #openBackend()}; JUnit 5 then runs, for every capability your device declares,
 * dynamic tests over random shapes and seeded data with outliers, comparing every result with the
 * independent reference in {@code dev.nibble.conformance.reference}: integer codes, scales and
 * int32 accumulators bit-identical, float results within {@link Tolerance}. A capability the
 * device does not declare shows up as one aborted (skipped) test whose reason starts with
 * {@code "unsupported: "} — reported apart from passes and failures, never as a pass.
 *
 * <pre>{@code
 * class MyBackendConformanceTest extends BackendConformance {
 *     protected KernelBackend openBackend() { return new MyProvider().open(device, Map.of()); }
 * }
 * }</pre>
 *
 * <p>The backend is opened once per class and closed after all tests. Configuration (JUnit
 * configuration parameters, which fall back to system properties): {@value #SIZE} =
 * {@code small} (default, about a minute for a CPU backend on 2 cores) or {@code full};
 * {@value #SEED} = the data seed (default {@value #DEFAULT_SEED}; each test derives its own generator from it and its name).
 */
@API(status = EXPERIMENTAL, since = "0.1")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(BackendConformance.ConfigurationCapture.class)
public abstract class BackendConformance {
    /** Backend id for {@link SelectedBackendConformance} and {@link ConformanceRunner}. */
    public static final String BACKEND = "nibble.tck.backend";
    /** {@code small} or {@code full}. */
    public static final String SIZE = "nibble.tck.size";
    /** The base seed of all generated data. */
    public static final String SEED = "nibble.tck.seed";
    /** The default seed. */
    public static final long DEFAULT_SEED = 20261121L;

    private Function<String, Optional<String>> configuration = key -> Optional.ofNullable(System.getProperty(key));
    private KernelBackend backend;
    private Kit kit;

    /** For subclasses. */
    protected BackendConformance() {
    }

    /**
     * Opens the backend under test; called once before the tests of the class.
     *
     * @return an open backend (closed by the kit after the last test)
     */
    protected abstract KernelBackend openBackend();

    /** @return the backend under test (open during the tests) */
    protected final KernelBackend backend() {
        return backend;
    }

    /**
     * @param key a configuration key
     * @return its value from the JUnit configuration parameters or the system properties
     */
    protected final Optional<String> configuration(String key) {
        return configuration.apply(key);
    }

    @BeforeAll
    final void openKit(TestReporter reporter) {
        String size = configuration(SIZE).orElse("small").trim();
        if (!size.equals("small") && !size.equals("full")) {
            throw new IllegalArgumentException(SIZE + " must be small or full, got '" + size + "'");
        }
        long seed = configuration(SEED).map(String::trim).map(Long::parseLong).orElse(DEFAULT_SEED);
        backend = Objects.requireNonNull(openBackend(), "openBackend() returned null");
        kit = new Kit(backend, size.equals("full"), seed);
        reporter.publishEntry("backend", backend.id() + " (" + backend.device().name() + ")");
        reporter.publishEntry("capabilities", backend.capabilities().stream().map(Capability::describe).sorted()
                .collect(Collectors.joining("; ")));
        reporter.publishEntry("size", size);
        reporter.publishEntry("seed", Long.toString(seed));
    }

    @AfterAll
    final void closeKit() {
        if (backend != null) {
            backend.close();
        }
    }

    /** @return memory transfer and add, which every backend has */
    @TestFactory
    @Order(1)
    final Stream<DynamicNode> core() {
        return Stream.of(CoreCases.tests(kit));
    }

    /** @return rotations, smoothing and shift */
    @TestFactory
    @Order(2)
    final Stream<DynamicNode> rotations() {
        return RotationCases.tests(kit);
    }

    /** @return quantize, static quantize, dequantize (int4, int8, NF4) */
    @TestFactory
    @Order(3)
    final Stream<DynamicNode> quantization() {
        return QuantizeCases.tests(kit);
    }

    /** @return integer, weight-only, float and low-rank GEMMs */
    @TestFactory
    @Order(4)
    final Stream<DynamicNode> gemms() {
        return GemmCases.tests(kit);
    }

    /** @return the DiT element-wise and row operations */
    @TestFactory
    @Order(5)
    final Stream<DynamicNode> ditOps() {
        return DitCases.tests(kit);
    }

    /** @return the fused path of each method's plans */
    @TestFactory
    @Order(6)
    final Stream<DynamicNode> fusedLinear() {
        return FusedCases.tests(kit);
    }

    /**
     * @return the fused path of each method's plans with BF16 activations: bit for bit the F32
     *     path's result rounded to nearest even
     */
    @TestFactory
    @Order(7)
    final Stream<DynamicNode> bf16Activations() {
        return Bf16Cases.tests(kit);
    }

    /** @return one skipped test per declared capability this version of the kit does not cover */
    @TestFactory
    @Order(8)
    final Stream<DynamicNode> coverage() {
        return Coverage.uncovered(kit);
    }

    /** Hands the JUnit configuration parameters to the suite before it opens the backend. */
    static final class ConfigurationCapture implements TestInstancePostProcessor {
        @Override
        public void postProcessTestInstance(Object testInstance, ExtensionContext context) {
            if (testInstance instanceof BackendConformance c) {
                c.configuration = context::getConfigurationParameter;
            }
        }
    }
}
