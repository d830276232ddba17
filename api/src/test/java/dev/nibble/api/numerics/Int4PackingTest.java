package dev.nibble.api.numerics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Int4PackingTest {
    @Test
    void lowNibbleFirstTwosComplementPerRowPadding() {
        int[] codes = {1, -2, 3, -8, 7, 0};
        byte[] packed = Int4Packing.pack(codes, 2, 3);
        // row 0: (1 | -2<<4) = 0xE1, (3) = 0x03 ; row 1: (-8 | 7<<4) = 0x78, 0x00
        assertThat(packed).containsExactly((byte) 0xE1, (byte) 0x03, (byte) 0x78, (byte) 0x00);
        assertThat(Int4Packing.unpack(packed, 2, 3, true)).containsExactly(codes);
        assertThat(Int4Packing.unpack(packed, 2, 3, false)).containsExactly(1, 14, 3, 8, 7, 0);
    }
}
