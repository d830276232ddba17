package dev.nibble.backend.cuda.driver;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** cuLaunchKernelEx's arguments as cuda.h lays them out (CUlaunchConfig, CUlaunchAttribute), on any machine. */
class DependentLaunchTest {

    @Test
    void configHoldsTheLaunchAndOneProgrammaticSerializationAttribute() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = DependentLaunch.config(a, new int[] {132, 2, 3}, new int[] {384, 1, 1}, 196_608, 0x1234_5678_9AL);
            assertThat(c.byteSize()).as("sizeof(CUlaunchConfig)").isEqualTo(56);
            int[] dims = new int[7];
            for (int i = 0; i < 7; i++) {
                dims[i] = c.get(JAVA_INT, 4L * i);
            }
            assertThat(dims).as("grid, block, sharedMemBytes").containsExactly(132, 2, 3, 384, 1, 1, 196_608);
            assertThat(c.get(JAVA_LONG, 32)).as("hStream at 32 (8-byte aligned after seven ints)").isEqualTo(0x1234_5678_9AL);
            assertThat(c.get(JAVA_INT, 48)).as("numAttrs").isEqualTo(1);
            MemorySegment attr = c.get(ADDRESS, 40).reinterpret(72);
            assertThat(attr.get(JAVA_INT, 0)).as("CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION").isEqualTo(6);
            assertThat(attr.get(JAVA_INT, 8)).as("the value union at 8: allowed").isEqualTo(1);
        }
    }

    @Test
    void kernelParamsPointAtOneEightByteSlotPerArgument() {
        try (Arena a = Arena.ofConfined()) {
            long[] args = {7L, -1L, 0x4000_0000_0000L};
            MemorySegment p = DependentLaunch.kernelParams(a, args);
            for (int i = 0; i < args.length; i++) {
                assertThat(p.getAtIndex(ADDRESS, i).reinterpret(8).get(JAVA_LONG, 0)).as("slot " + i).isEqualTo(args[i]);
            }
        }
    }
}
