package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tiled operand layouts the bulk-copy GEMMs read (documented in TensorCoreGemm.launchTiled). */
class TiledOperandsTest {

    @Test
    void int8BlocksHoldEachRowSegmentAsSwizzledChunks() {
        int rows = 300;
        int kpad = 192;
        byte[] codes = new byte[rows * kpad];
        new Random(7).nextBytes(codes);
        byte[] t = TiledOperands.int8(codes, rows, kpad, 128);
        assertThat(t).hasSize(384 * kpad);
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < kpad; k++) {
                // block row/128, segment k/64: 128 x 64 bytes; chunk (k%64)/16 of row r sits at chunk c ^ ((r >> 1) & 3)
                int r = row % 128;
                int at = ((row / 128) * 3 + k / 64) * 8192 + r * 64 + (((k % 64) / 16) ^ ((r >> 1) & 3)) * 16 + k % 16;
                assertThat(t[at]).as("row %d k %d", row, k).isEqualTo(codes[row * kpad + k]);
            }
        }
        for (int i = 0; i < t.length; i++) {
            int block = i / (128 * 64 * 3);
            int r = i / 64 % 128;
            if (block * 128 + r >= rows) {
                assertThat(t[i]).as("padding byte %d", i).isZero();
            }
        }
    }

    @Test
    void swizzleKeepsEverySegmentAPermutationOfItsChunks() {
        int rows = 256;
        int kpad = 64;
        byte[] codes = new byte[rows * kpad];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (i % 64 / 16);   // each byte names its chunk
        }
        byte[] t = TiledOperands.int8(codes, rows, kpad, 256);
        for (int r = 0; r < rows; r++) {
            for (int slot = 0; slot < 4; slot++) {
                assertThat(t[r * 64 + slot * 16]).as("row %d slot %d", r, slot).isEqualTo((byte) (slot ^ ((r >> 1) & 3)));
            }
        }
    }

    @Test
    void int4WeightSegmentsAreThirtyTwoPackedBytesOfTheRow() {
        int rows = 260;
        int kpad = 256;
        byte[] packed = new byte[rows * kpad / 2];
        new Random(3).nextBytes(packed);
        byte[] t = TiledOperands.int4Weights(packed, rows, kpad);
        assertThat(t).hasSize(512 * kpad / 2);
        for (int row = 0; row < rows; row++) {
            for (int s = 0; s < 4; s++) {
                int at = ((row / 256) * 4 + s) * 256 * 32 + (row % 256) * 32;
                for (int j = 0; j < 32; j++) {
                    assertThat(t[at + j]).isEqualTo(packed[row * 128 + s * 32 + j]);
                }
            }
        }
    }

    @Test
    void rejectsKNotAMultipleOfTheSegment() {
        assertThatThrownBy(() -> TiledOperands.int8(new byte[96], 1, 96, 128))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("96");
    }
}
