package dev.nibble.it.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.it.NibbleProcess;
import dev.nibble.it.NibbleProcess.Result;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Discovery as users meet it: a real {@code java} process running the nibble distribution, with
 * third-party provider jars added to the module path or the class path.
 */
class DiscoveryProcessTest {

    @Test
    void thirdPartyBackendOnTheModulePathIsListed() throws Exception {
        Result r = NibbleProcess.modulePath(List.of(), Map.of(), List.of(NibbleProcess.fixture("nibble-fixture-backend")), "backends");
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).as(r.all()).containsPattern("fixture\\s+available")
                .contains("device fixture:0: Fixture Device 9000").contains("GEMM F32")
                .containsPattern("cpu\\s+available");
    }

    @Test
    void thirdPartyBackendOnTheClassPathIsListedThroughMetaInfServices() throws Exception {
        Result r = NibbleProcess.classPath(List.of(NibbleProcess.fixture("nibble-fixture-backend")), "backends");
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).as(r.all()).containsPattern("fixture\\s+available").containsPattern("cpu\\s+available");
    }

    @Test
    void brokenProvidersAreListedAsUnavailableWithTheirReasonsWhileOthersWork() throws Exception {
        Result r = NibbleProcess.modulePath(List.of(), Map.of(),
                List.of(NibbleProcess.fixture("nibble-fixture-backend"), NibbleProcess.fixture("nibble-fixture-broken")),
                "backends", "-v");
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stdout()).as(r.all())
                .containsPattern("throwing\\s+UNAVAILABLE")
                .contains("probe failed: IllegalStateException: simulated driver crash in probe")
                .containsPattern("NativeLinkFailureProvider\\s+UNAVAILABLE")
                .contains("UnsatisfiedLinkError")
                .contains("nibble_fixture_driver_that_is_not_installed")
                .containsPattern("fixture\\s+available")
                .containsPattern("cpu\\s+available");
    }

    @Test
    void explicitUnknownBackendFailsListingWhatExists() throws Exception {
        Result r = NibbleProcess.modulePath(List.of("-Dnibble.backend=nope"), Map.of(), List.of(), "backends", "--select");
        assertThat(r.exitCode()).as(r.all()).isEqualTo(2);
        assertThat(r.stderr()).as(r.all()).contains("'nope'").contains("property nibble.backend")
                .containsPattern("cpu \\(available\\)");
    }

    @Test
    void environmentVariableSelectsAndFailureCarriesReasonAndRemedy() throws Exception {
        Result r = NibbleProcess.modulePath(List.of(), Map.of("NIBBLE_BACKEND", "fixture"),
                List.of(NibbleProcess.fixture("nibble-fixture-backend")), "backends", "--select");
        assertThat(r.exitCode()).as(r.all()).isEqualTo(2);
        assertThat(r.stderr()).as(r.all()).contains("the fixture backend computes nothing").contains("[FIX]");

        Result cpu = NibbleProcess.modulePath(List.of(), Map.of("NIBBLE_BACKEND", "cpu"), List.of(), "backends", "--select");
        assertThat(cpu.exitCode()).as(cpu.all()).isZero();
        assertThat(cpu.stdout()).contains("selected: cpu");
    }

    @Test
    void automaticSelectionLogsTheChoiceAndSkippedBackends() throws Exception {
        Result r = NibbleProcess.modulePath(List.of(), Map.of(),
                List.of(NibbleProcess.fixture("nibble-fixture-broken")), "backends", "--select");
        assertThat(r.exitCode()).as(r.all()).isZero();
        assertThat(r.stderr()).as(r.all()).contains("using backend").contains("skipped:").contains("throwing (unavailable");
    }
}
