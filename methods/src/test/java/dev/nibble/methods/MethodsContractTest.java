package dev.nibble.methods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Precision;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.method.Calibration;
import dev.nibble.api.method.LayerRole;
import dev.nibble.api.method.LinearLayer;
import dev.nibble.api.method.MethodOptions;
import dev.nibble.api.method.OptionSpec;
import dev.nibble.api.method.QuantMethod;
import dev.nibble.api.method.QuantMethodProvider;
import dev.nibble.methods.core.Mat;
import dev.nibble.methods.core.PlanSimulator;
import dev.nibble.methods.core.TestData;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** What every method promises: discovery, declared precisions honoured, typed errors, valid plans. */
class MethodsContractTest {
    private static final Map<String, Map<String, String>> FAST = Map.of(
            "svdquant", Map.of("alpha-step", "0.5", "rank", "4", "refine-iters", "1"),
            "tfmq", Map.of("grid", "10"),
            "qdit", Map.of("generations", "1", "population", "4", "top", "2"));

    private static List<QuantMethod> all() {
        // through the API's discovery (the API module declares `uses`)
        return dev.nibble.api.method.Methods.available().stream().map(m -> m.provider().create()).toList();
    }

    @Test
    void servicesFileListsTheSameEightProvidersAsModuleInfo() throws Exception {
        try (var in = getClass().getResourceAsStream("/META-INF/services/dev.nibble.api.method.QuantMethodProvider")) {
            List<String> lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
                    .map(String::trim).filter(l -> !l.isEmpty()).toList();
            assertThat(lines).hasSize(8);
            for (String cls : lines) {
                QuantMethodProvider p = (QuantMethodProvider) Class.forName(cls).getConstructor().newInstance();
                assertThat(p.create().id()).isEqualTo(p.id());
            }
        }
        assertThat(all().stream().map(QuantMethod::id).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("convrot", "svdquant", "tfmq", "qdit", "rtn", "smoothquant", "quarot", "nf4");
    }

    @Test
    void everyDeclaredPrecisionWorksAndEveryOtherIsATypedError() {
        LinearLayer l = TestData.layer("blocks.0.mlp.fc1", LayerRole.MLP_FC1, 8, 64, 1);
        Calibration cal = TestData.simple(List.of(l), 16, 8, 2);
        float[] x = cal.layer(l.name()).orElseThrow().inputs(1).orElseThrow().toFloatArray();
        float[] ref = PlanSimulator.reference(l, x, 16);
        for (QuantMethod m : all()) {
            for (Precision p : Precision.values()) {
                MethodOptions o = MethodOptions.of(p, FAST.getOrDefault(m.id(), Map.of()));
                if (m.precisions().contains(p)) {
                    QuantizedLinear plan = m.quantize(l, cal, o);
                    assertThat(plan.metadata()).containsEntry("method", m.id());
                    assertThat(plan.activation() instanceof ActivationQuant.None)
                            .as(m.id() + " " + p).isEqualTo(!p.quantizesActivations());
                    // W8A8 keeps the layer close; every plan stays a reasonable approximation
                    double db = Mat.sqnrDb(ref, new PlanSimulator(plan).forward(x, 16, 1));
                    assertThat(db).as(m.id() + " " + p).isGreaterThan(p == Precision.W8A8 ? 20 : 3);
                } else {
                    assertThatThrownBy(() -> m.quantize(l, cal, o)).as(m.id() + " " + p)
                            .isInstanceOf(InvalidInputException.class).hasMessageContaining(p.name());
                }
            }
        }
    }

    @Test
    void everyOptionHasADefaultThatValidatesAndADescription() {
        for (QuantMethod m : all()) {
            assertThat(m.options()).extracting(OptionSpec::name).contains("scope").doesNotHaveDuplicates();
            Precision p = m.precisions().iterator().next();
            for (OptionSpec s : m.options()) {
                assertThat(s.description()).isNotBlank();
                ((dev.nibble.methods.core.MethodBase) m).check(MethodOptions.of(p, Map.of(s.name(), s.defaultValue())));
            }
            assertThat(m.description()).isNotBlank();
        }
    }
}
