package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DevicePoolTest {
    @Test
    void sizeClassesRoundUpWithBoundedWaste() {
        assertThat(DevicePool.sizeClass(1)).isEqualTo(512);
        assertThat(DevicePool.sizeClass(4096)).isEqualTo(4096);
        assertThat(DevicePool.sizeClass(4097)).isEqualTo(5120);
        for (long b = 1; b < 1L << 34; b = b * 3 + 7) {
            long c = DevicePool.sizeClass(b);
            assertThat(c).isGreaterThanOrEqualTo(b);
            assertThat(c).isLessThanOrEqualTo(Math.max(512, b + b / 4 + 1));
        }
    }
}
