package dev.nibble.api.numerics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import org.junit.jupiter.api.Test;

class QuantizerTest {

    @Test
    void symmetricPerTokenInt4HandComputed() {
        // row absmax 7 -> scale 1; 2.5 rounds half to even -> 2, -3.5 -> -4
        Tensor x = Tensor.ofFloats(new float[] {7f, 2.5f, -3.5f, 0.4f, 14f, -14f, 1f, 3f}, 2, 4);
        QuantizedTensor q = Quantizer.quantize(x, QuantScheme.symmetric(4, Granularity.PER_TOKEN));
        assertThat(q.scales().toFloatArray()).containsExactly(1f, 2f);
        assertThat(q.codes().toIntArray()).containsExactly(7, 2, -4, 0, 7, -7, 0, 2);
        assertThat(q.codes().dtype()).isEqualTo(DType.INT4);
    }

    @Test
    void clampsToFullRangeAndNarrowRange() {
        Tensor x = Tensor.ofFloats(new float[] {-9f, 7f}, 1, 2);
        QuantScheme full = QuantScheme.symmetric(4, Granularity.PER_TENSOR);
        assertThat(Quantizer.quantizeStatic(x, full.asStatic(), 1f, 0).codes().toIntArray()).containsExactly(-8, 7);
        QuantScheme narrow = full.withNarrowRange().asStatic();
        assertThat(Quantizer.quantizeStatic(x, narrow, 1f, 0).codes().toIntArray()).containsExactly(-7, 7);
    }

    @Test
    void affineUnsignedGroupsWithZeroPoints() {
        // group [0, 15]: lo 0, hi 15 -> scale 1, zero 0; group [-3, 12]: scale 1, zero 3
        Tensor x = Tensor.ofFloats(new float[] {0f, 15f, -3f, 12f}, 1, 4);
        QuantizedTensor q = Quantizer.quantize(x, QuantScheme.affine(4, Granularity.PER_GROUP, 2));
        assertThat(q.scales().toFloatArray()).containsExactly(1f, 1f);
        assertThat(q.zeros().toIntArray()).containsExactly(0, 3);
        assertThat(q.codes().toIntArray()).containsExactly(0, 15, 0, 15);
        assertThat(Quantizer.dequantize(q).toFloatArray()).containsExactly(0f, 15f, -3f, 12f);
    }

    @Test
    void zeroRowGivesZeroScaleAndZeroCodes() {
        Tensor x = Tensor.ofFloats(new float[] {0f, 0f, 1f, -1f}, 2, 2);
        QuantizedTensor q = Quantizer.quantize(x, QuantScheme.symmetric(8, Granularity.PER_TOKEN));
        assertThat(q.scales().toFloatArray()[0]).isZero();
        assertThat(Quantizer.dequantize(q).toFloatArray()).containsExactly(0f, 0f, 1f, -1f);
    }

    @Test
    void shortLastGroupAndOddK() {
        Tensor x = Tensor.ofFloats(new float[] {1f, 2f, 3f, 4f, 5f}, 1, 5);
        QuantizedTensor q = Quantizer.quantize(x, QuantScheme.symmetricGroup(4, 2));
        assertThat(q.scales().shape().dims()).containsExactly(1, 3);
        assertThat(q.codes().data().byteSize()).isEqualTo(3);
        float[] back = Quantizer.dequantize(q).toFloatArray();
        for (int i = 0; i < 5; i++) {
            assertThat(back[i]).isCloseTo(i + 1f, org.assertj.core.data.Offset.offset(0.5f));
        }
    }

    @Test
    void nf4PicksNearestCodeValue() {
        Tensor x = Tensor.ofFloats(new float[] {-2f, 0f, 2f, 1.1f}, 1, 4);
        QuantizedTensor q = Quantizer.quantize(x, QuantScheme.nf4(4));
        assertThat(q.scales().toFloatArray()).containsExactly(2f);
        int[] codes = q.codes().toIntArray();
        assertThat(codes[0]).isEqualTo(0);
        assertThat(codes[1]).isEqualTo(7);
        assertThat(codes[2]).isEqualTo(15);
        assertThat(Nf4.value(codes[3])).isEqualTo(0.5626170039176941f);
    }

    @Test
    void rejectsIntegerInput() {
        assertThatThrownBy(() -> Quantizer.quantize(Tensor.ofInts(new int[] {1}, 1, 1),
                QuantScheme.symmetric(8, Granularity.PER_TOKEN))).isInstanceOf(InvalidInputException.class);
    }
}
