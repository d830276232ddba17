package dev.nibble.model.dit;

import dev.nibble.api.DType;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;

/**
 * Cuts a plan into output-channel chunks. adaLN produces six (or two) modulation vectors in one
 * linear; running each chunk as its own prepared layer keeps every vector on the device without a
 * slicing op. Each chunk computes exactly the rows of the whole layer: the input path (smoothing,
 * rotation, per-token activation quantization) does not depend on the outputs.
 */
final class PlanSlicer {
    private PlanSlicer() {
    }

    static QuantizedLinear rows(QuantizedLinear p, int from, int to) {
        int n = to - from;
        QuantizedLinear.Builder out = QuantizedLinear.builder(p.name() + "[" + from + ":" + to + "]", p.inFeatures(), n)
                .smooth(p.smooth()).shift(p.shift()).rotation(p.rotation()).activation(p.activation());
        p.metadata().forEach(out::meta);
        if (p.denseWeight() != null) {
            out.denseWeight(rowSlice(p.denseWeight(), from, to));
        } else {
            QuantizedTensor w = p.weight();
            Tensor scales = w.scheme().granularity() == dev.nibble.api.Granularity.PER_TENSOR
                    ? w.scales() : rowSlice(w.scales(), from, to);
            Tensor zeros = w.zeros() == null ? null
                    : w.scheme().granularity() == dev.nibble.api.Granularity.PER_TENSOR ? w.zeros() : rowSlice(w.zeros(), from, to);
            out.weight(new QuantizedTensor(rowSlice(w.codes(), from, to), scales, zeros, w.scheme()));
        }
        if (p.lowRank() != null) {
            out.lowRank(new LowRank(p.lowRank().down(), rowSlice(p.lowRank().up(), from, to)));
        }
        if (p.bias() != null) {
            out.bias(rowSlice(p.bias(), from, to));
        }
        return out.build();
    }

    /** Rows [from, to) of a tensor whose first dimension is the output channel (a vector: elements). */
    static Tensor rowSlice(Tensor t, int from, int to) {
        long[] dims = t.shape().dims();
        DType dt = t.dtype();
        long rowBytes = dims.length == 1 ? dt.byteSize(Shape.of(1)) : dt.byteSize(t.shape()) / dims[0];
        dims[0] = to - from;
        return Tensor.wrap(dt, Shape.of(dims), t.data().asSlice(from * rowBytes, (to - from) * rowBytes));
    }
}
