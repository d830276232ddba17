package dev.nibble.api.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackendsTest {

    static KernelBackendProvider provider(String id, int priority) {
        return new KernelBackendProvider() {
            @Override
            public String id() {
                return id;
            }

            @Override
            public String description() {
                return id;
            }

            @Override
            public int priority() {
                return priority;
            }

            @Override
            public BackendProbe probe() {
                throw new UnsupportedOperationException();
            }

            @Override
            public KernelBackend open(DeviceInfo device, Map<String, String> options) {
                throw new UnsupportedOperationException();
            }
        };
    }

    static ProviderStatus available(String id, int priority, Capability... caps) {
        DeviceInfo d = new DeviceInfo(id + ":0", id, -1, Set.of(caps), Map.of());
        return new ProviderStatus(id, id, priority, BackendProbe.available(List.of(d), Map.of()), provider(id, priority));
    }

    static ProviderStatus unavailable(String id, int priority) {
        return new ProviderStatus(id, id, priority,
                BackendProbe.unavailable("libfoo.so not found", "install foo", Map.of()), provider(id, priority));
    }

    final List<ProviderStatus> all = List.of(unavailable("cuda", 30), available("opencl", 20, new Capability.FloatGemm()),
            available("cpu", 10, new Capability.FloatGemm(), new Capability.IntGemm(4, 4, true)));

    @Test
    void automaticPicksHighestPriorityAvailableWithCapabilities() {
        Backends.Selection s = Backends.select(all, "", Set.of());
        assertThat(s.device().id()).isEqualTo("opencl:0");
        assertThat(s.skipped()).containsEntry("cuda", "unavailable: libfoo.so not found").containsEntry("cpu", "lower priority");

        Backends.Selection t = Backends.select(all, null, Set.of(new Capability.IntGemm(4, 4, false)));
        assertThat(t.device().id()).isEqualTo("cpu:0");
        assertThat(t.skipped().get("opencl")).startsWith("lacks GEMM INT4xINT4");
    }

    @Test
    void explicitRequestUnavailableCarriesReasonAndRemedy() {
        assertThatThrownBy(() -> Backends.select(all, "cuda:0", Set.of()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("libfoo.so not found").hasMessageContaining("install foo");
    }

    @Test
    void explicitUnknownListsWhatExists() {
        assertThatThrownBy(() -> Backends.select(all, "nope", Set.of()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("'nope'").hasMessageContaining("cpu (available)")
                .hasMessageContaining("cuda (unavailable: libfoo.so not found)");
    }

    @Test
    void explicitDeviceMustExistAndHaveCapabilities() {
        assertThatThrownBy(() -> Backends.select(all, "cpu:7", Set.of())).hasMessageContaining("no device 'cpu:7'");
        assertThatThrownBy(() -> Backends.select(all, "opencl", Set.of(new Capability.IntGemm(4, 4, false))))
                .hasMessageContaining("does not support GEMM INT4xINT4");
        assertThat(Backends.select(all, "cpu", Set.of()).source()).isEqualTo("argument");
    }

    @Test
    void systemPropertyComesBeforeAutomatic() {
        System.setProperty(Backends.PROPERTY, "cpu:0");
        try {
            Backends.Selection s = Backends.select(all, null, Set.of());
            assertThat(s.device().id()).isEqualTo("cpu:0");
            assertThat(s.source()).contains(Backends.PROPERTY);
        } finally {
            System.clearProperty(Backends.PROPERTY);
        }
    }

    @Test
    void nothingAvailableFailsWithRemedy() {
        assertThatThrownBy(() -> Backends.select(List.of(unavailable("cuda", 30)), null, Set.of()))
                .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("[FIX]");
    }

    @Test
    void capabilityMatching() {
        assertThat(new Capability.IntGemm(4, 4, true).satisfies(new Capability.IntGemm(4, 4, false))).isTrue();
        assertThat(new Capability.IntGemm(4, 4, false).satisfies(new Capability.IntGemm(4, 4, true))).isFalse();
        assertThat(new Capability.LowRankBranch(64).satisfies(new Capability.LowRankBranch(32))).isTrue();
        assertThat(new Capability.LowRankBranch(16).satisfies(new Capability.LowRankBranch(32))).isFalse();
    }
}
