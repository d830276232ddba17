package dev.nibble.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host side of the register path: which plans take it, and the k_lr_down fragment layout. */
class FusedLinearLayoutTest {

    @Test
    void fragmentsHoldEveryElementOfDownOnceAndZeroPastKp() {
        int kp = 60;
        int r = 32;
        float[] down = new float[kp * r];
        for (int i = 0; i < down.length; i++) {
            down[i] = i + 1;  // distinct, and exact in TF32 (11 significant bits) up to 2048
        }
        float[][] f = FusedLinear.downFragments(down, kp, r);
        assertThat(f[1]).as("exact values need no remainder").isNull();
        int chunks = (kp + 31) / 32;
        assertThat(f[0]).hasSize(chunks * 32 * r);
        int[] seen = new int[down.length + 1];
        for (float v : f[0]) {
            seen[(int) v]++;
        }
        assertThat(seen[0]).as("padding rows kp..chunks*32").isEqualTo((chunks * 32 - kp) * r);
        for (int i = 1; i <= down.length; i++) {
            assertThat(seen[i]).as("element %d", i - 1).isEqualTo(1);
        }
        // the mma B fragment of lane 5 (g 1, t 1), n-tile 2, step 3, second register: column f(1, 7) = 12 + 4 + 7,
        // n = 8·2 + 1; float4 2·2 + 3/2 = 5 of the lane, element 2·1 + 1
        assertThat(f[0][(5 * 32 + 5) * 4 + 3]).isEqualTo(down[23 * r + 17]);
        // step 0, first register of lane 6 (t 2): column 8, n-tile 0, n = 1
        assertThat(f[0][(0 * 32 + 6) * 4]).isEqualTo(down[8 * r + 1]);
    }

    @Test
    void f32FactorsSplitIntoTf32AndAnExactRemainder() {
        Random rnd = new Random(7);
        int kp = 64;
        int r = 16;
        float[] down = new float[kp * r];
        for (int i = 0; i < down.length; i++) {
            down[i] = (float) rnd.nextGaussian();
        }
        float[][] f = FusedLinear.downFragments(down, kp, r);
        assertThat(f[1]).isNotNull();
        for (int i = 0; i < f[0].length; i++) {
            assertThat(Float.floatToRawIntBits(f[0][i]) & 0x1FFF).isZero();
            assertThat(Math.abs(f[1][i])).isLessThanOrEqualTo(Math.ulp(f[0][i]) * 4096f);
        }
        // hi + lo gives back each value exactly (fragment 0 of lane 0 is down[0][0])
        assertThat(f[0][0] + f[1][0]).isEqualTo(down[0]);
        float[] bf = Tensor.ofFloats(down, kp, r).to(DType.BF16).toFloatArray();
        assertThat(FusedLinear.downFragments(bf, kp, r)[1]).as("BF16 factors are exact in TF32").isNull();
        float[] h = Tensor.ofFloats(down, kp, r).to(DType.F16).toFloatArray();
        assertThat(FusedLinear.downFragments(h, kp, r)[1]).as("F16 factors are exact in TF32").isNull();
    }

    @Test
    void registerPathTakesTheCommonPlansAndLeavesTheRest() {
        assertThat(FusedLinear.registerPath(3072, 3072, 1, 256, 3072, 0)).isEqualTo(1);     // ConvRot, per token
        assertThat(FusedLinear.registerPath(12288, 12288, 1, 256, 12288, 0)).isEqualTo(4);  // 48 segments
        assertThat(FusedLinear.registerPath(3072, 3072, 0, 1, 64, 32)).isEqualTo(1);        // SVDQuant g64 r32
        assertThat(FusedLinear.registerPath(1152, 1280, 2, 16, 512, 0)).isEqualTo(1);       // groups of 2 segments
        assertThat(FusedLinear.registerPath(6144, 6144, 0, 1, 64, 0)).isEqualTo(2);         // 24 segments
        assertThat(FusedLinear.registerPath(16384, 16384, 0, 1, 64, 0)).isEqualTo(4);       // 64 segments
        assertThat(FusedLinear.registerPath(1150, 1280, 0, 1, 64, 0)).as("K % 4").isZero();
        assertThat(FusedLinear.registerPath(3072, 3072, 1, 1024, 3072, 0)).as("n0 > 256").isZero();
        assertThat(FusedLinear.registerPath(3072, 3072, 0, 1, 192, 0)).as("group 192").isZero();
        assertThat(FusedLinear.registerPath(3072, 3072, 1, 64, 64, 32)).as("low rank behind a rotation").isZero();
        assertThat(FusedLinear.registerPath(16640, 16640, 0, 1, 16640, 0)).as("65 segments").isZero();
    }

    @Test
    void tq3TakesRegularHadamardAndSmallGroupsWithAtMostSixteenWarpsPerRow() {
        assertThat(FusedLinear.tq3Rounds(3072, 1, 256, 3072)).as("ConvRot per token, 6 rounds").isEqualTo(2);
        assertThat(FusedLinear.tq3Rounds(1280, 1, 64, 1280)).as("3 rounds").isEqualTo(1);
        assertThat(FusedLinear.tq3Rounds(3072, 0, 1, 64)).as("SVDQuant g64").isEqualTo(1);
        assertThat(FusedLinear.tq3Rounds(12288, 1, 256, 12288)).as("24 rounds: 12 warps of 2").isEqualTo(2);
        assertThat(FusedLinear.tq3Rounds(16384, 0, 1, 64)).as("32 rounds: 16 warps of 2").isEqualTo(2);
        assertThat(FusedLinear.tq3Rounds(16640, 0, 1, 16640)).as("33 rounds: 17 warps").isZero();
        assertThat(FusedLinear.tq3Rounds(3072, 2, 16, 3072)).as("Sylvester").isZero();
        assertThat(FusedLinear.tq3Rounds(3072, 1, 128, 3072)).as("n0 = 128 is not 4^k").isZero();
        assertThat(FusedLinear.tq3Rounds(3072, 0, 1, 8)).as("group of 8").isZero();
        assertThat(FusedLinear.tq3Rounds(3072, 0, 1, 512)).as("group of 512").isZero();
    }

    @Test
    void tq3hTakesOnlyTheConvRotPlanWithOneWarpPer1024Columns() {
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 3072, false, 0, 1f)).as("ConvRot K = 3072").isEqualTo(3);
        assertThat(FusedLinear.tq3hWarps(1152, 1280, 1, 256, 1280, false, 0, 1f)).as("K = 1152: lanes idle").isZero();
        assertThat(FusedLinear.tq3hWarps(2048, 2048, 1, 256, 2048, false, 0, 1f)).isEqualTo(2);
        assertThat(FusedLinear.tq3hWarps(12288, 12288, 1, 256, 12288, false, 0, 1f)).isEqualTo(12);
        assertThat(FusedLinear.tq3hWarps(16384, 16384, 1, 256, 16384, false, 0, 1f)).as("16 warps").isEqualTo(16);
        assertThat(FusedLinear.tq3hWarps(16640, 16640, 1, 256, 16640, false, 0, 1f)).as("17 warps").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 64, 3072, false, 0, 1f)).as("n0 = 64").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 0, 1, 3072, false, 0, 1f)).as("no rotation").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 64, false, 0, 1f)).as("groups of 64").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 3072, true, 0, 1f)).as("smoothing").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 3072, false, 32, 1f)).as("low rank").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 3072, false, 0, 0.9f)).as("clip < 1").isZero();
        assertThat(FusedLinear.tq3hWarps(3072, 3072, 1, 256, 3072, false, 0, Float.NaN)).as("clip NaN").isZero();
        assertThat(FusedLinear.tq3hWarps(3076, 4096, 1, 256, 4096, false, 0, 1f)).as("K % 8 = 4").isZero();
    }

    @Test
    void tq3hRunsFromTwoToTheTwentyThreeCodesPerLaunch() {
        assertThat(FusedLinear.tq3hPays(3072, 4096)).as("4096 x 3072: measured faster").isTrue();
        assertThat(FusedLinear.tq3hPays(12288, 1024)).as("1024 x 12288: measured faster").isTrue();
        assertThat(FusedLinear.tq3hPays(3072, 1024)).as("1024 x 3072: measured slower").isFalse();
        assertThat(FusedLinear.tq3hPays(12288, 256)).as("256 x 12288: measured slower").isFalse();
        assertThat(FusedLinear.tq3hPays(16384, 1 << 20)).as("no int overflow").isTrue();
    }

    @Test
    void tq3pBlocksPerSmLeaveTheFewestRowSlotsIdle() {
        // 4096 rows on 132 SMs, at most 9 blocks each: 8 blocks take 4 rows each (32 slots for 31.03 rows per SM); 9 would
        // take 4 rows too (36 slots), 7 five (35)
        assertThat(FusedLinear.tqpBlocksPerSm(4096, 132, 9)).isEqualTo(8);
        assertThat(FusedLinear.tqpBlocksPerSm(4096, 132, 8)).isEqualTo(8);
        assertThat(FusedLinear.tqpBlocksPerSm(4096, 132, 7)).as("8 rows x 4 blocks = 32 beats 5 x 7 = 35 and 6 x 6 = 36")
                .isEqualTo(4);
        assertThat(FusedLinear.tqpBlocksPerSm(1024, 132, 9)).as("one row each: the most blocks that still need one")
                .isEqualTo(8);
        assertThat(FusedLinear.tqpBlocksPerSm(100_000, 132, 9)).isBetween(5, 9);
        assertThat(FusedLinear.tqpBlocksPerSm(4096, 132, 1)).isEqualTo(1);
        assertThat(FusedLinear.tqpBlocksPerSm(4096, 132, 0)).as("occupancy 0 still launches").isEqualTo(1);
        for (int m : new int[] {1, 255, 4096, 1 << 20}) {
            for (int max = 1; max <= 16; max++) {
                int b = FusedLinear.tqpBlocksPerSm(m, 132, max);
                assertThat(b).as("m %d, max %d", m, max).isBetween(Math.max(1, max / 2), max);
            }
        }
    }

    @Test
    void shiftTimesDownIsTheShiftsShareOfTheProjection() {
        float[] o = {1f, -2f, 0.5f};
        float[] down = {1f, 2f, 3f, 4f, 5f, 6f};  // [3, 2]
        assertThat(FusedLinear.shiftTimesDown(o, down, 2)).containsExactly(1f - 6f + 2.5f, 2f - 8f + 3f);
    }

    @Test
    void lowRankSplitsCoverEveryChunkOnce() {
        for (int m : new int[] {1, 63, 256, 1024, 4096, 100_000}) {
            for (int chunks : new int[] {1, 7, 36, 96, 384}) {
                int[] s = FusedLinear.lowRankSplits(m, chunks);
                assertThat(s[0]).isBetween(1, 32);
                assertThat((s[0] - 1) * s[1]).isLessThan(chunks);
                assertThat(s[0] * s[1]).isGreaterThanOrEqualTo(chunks);
            }
        }
    }
}
