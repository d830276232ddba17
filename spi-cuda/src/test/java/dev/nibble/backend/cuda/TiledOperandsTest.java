package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tiled operand layouts the bulk-copy GEMMs read (documented in TensorCoreGemm.launchTiled). */
class TiledOperandsTest {

    @Test
    void weightBlocksAreCompactWithTheLastRoundedUpToEightRows() {
        assertThat(TiledOperands.weightRows(1152)).isEqualTo(1152);   // 4 blocks of 256 and one of 128: no padding
        assertThat(TiledOperands.weightRows(3072)).isEqualTo(3072);
        assertThat(TiledOperands.weightRows(300)).isEqualTo(304);
        assertThat(TiledOperands.weightRows(7)).isEqualTo(8);
        assertThat(TiledOperands.blockRows(300, 0)).isEqualTo(256);
        assertThat(TiledOperands.blockRows(300, 1)).isEqualTo(48);
        assertThat(TiledOperands.paddedRows(300, 128)).isEqualTo(384);
    }

    @Test
    void int8WeightSegmentsHoldEachRowAsSwizzledChunks() {
        int rows = 300;
        int kpad = 192;
        byte[] codes = new byte[rows * kpad];
        new Random(7).nextBytes(codes);
        byte[] t = TiledOperands.weightsInt8(codes, rows, kpad);
        assertThat(t).hasSize(304 * kpad);
        for (int row = 0; row < rows; row++) {
            for (int k = 0; k < kpad; k++) {
                // block 0: 256 rows, segments of 256 x 64 bytes; block 1 (rows 256..): 48 rows, segments of 48 x 64
                int b = row / 256;
                int br = b == 0 ? 256 : 48;
                int r = row % 256;
                int at = b * 3 * 256 * 64 + ((k / 64) * br + r) * 64 + (((k % 64) / 16) ^ ((r >> 1) & 3)) * 16 + k % 16;
                assertThat(t[at]).as("row %d k %d", row, k).isEqualTo(codes[row * kpad + k]);
            }
        }
        // the 4 padding rows of the last block are zero
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < 4 * 64; i++) {
                assertThat(t[3 * 256 * 64 + (s * 48 + 44) * 64 + i]).isZero();
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
        byte[] t = TiledOperands.weightsInt8(codes, rows, kpad);
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
        byte[] t = TiledOperands.weightsInt4(packed, rows, kpad);
        assertThat(t).hasSize(264 * kpad / 2);
        for (int row = 0; row < rows; row++) {
            for (int s = 0; s < 4; s++) {
                int b = row / 256;
                int br = b == 0 ? 256 : 8;
                int at = b * 4 * 256 * 32 + (s * br + row % 256) * 32;
                for (int j = 0; j < 32; j++) {
                    assertThat(t[at + j]).isEqualTo(packed[row * 128 + s * 32 + j]);
                }
            }
        }
    }

    @Test
    void rejectsKNotAMultipleOfTheSegment() {
        assertThatThrownBy(() -> TiledOperands.weightsInt8(new byte[96], 1, 96))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("96");
    }
}
