package dev.nibble.bench;

import com.github.tjake.jlama.math.VectorMath;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.operations.TensorOperations;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Jlama's Panama (Vector API) kernels, called the way its model code calls them: the output columns
 * split over its own fork-join pool with {@code VectorMath.pchunk}, each chunk one
 * {@code dotProductChunk}. Jlama's quantized GEMMs are F32×Q4 and I8×Q4 (Q8 activations, block 32,
 * quantized per call as its layers do); it has no Q8-weight GEMM.
 */
final class JlamaCases {
    private JlamaCases() {
    }

    private static TensorOperations ops() {
        return Ops.OPS;
    }

    /** Initialized once per JVM: Jlama's executor can be sized only before its first use. */
    private static final class Ops {
        static final TensorOperations OPS;

        static {
            // the pure-Java kernels (no jlama-native on the path); the provider also turns off the
            // Vector API's bounds checks, as it does in a Jlama application
            System.setProperty("jlama.force_panama_tensor_operations", "true");
            OPS = TensorOperationsProvider.get();
            // Jlama assumes two hardware threads per core; give it every core the other libraries get
            PhysicalCoreExecutor.overrideThreadCount(Runtime.getRuntime().availableProcessors());
        }
    }

    private static FloatBufferTensor tensor(float[] v, int rows, int cols) {
        FloatBufferTensor t = new FloatBufferTensor(rows, cols);
        MemorySegment.copy(v, 0, t.getMemorySegment(), ValueLayout.JAVA_FLOAT, 0, v.length);
        return t;
    }

    /** @param weights "f32" or "q4"; @param quantizeActivations I8 activations (Q8, per call) */
    static GemmCase create(GemmShape s, String weights, boolean quantizeActivations) {
        TensorOperations ops = ops();
        FloatBufferTensor x = tensor(s.activations(), s.m(), s.k());
        FloatBufferTensor wf = tensor(s.weights(), s.n(), s.k());
        AbstractTensor w = switch (weights) {
            case "f32" -> wf;
            case "q4" -> new Q4ByteBufferTensor(wf);
            default -> throw new IllegalArgumentException("Jlama weights: f32 or q4, got " + weights);
        };
        FloatBufferTensor y = new FloatBufferTensor(s.m(), s.n());
        int k = s.k();
        return new GemmCase() {
            @Override
            public Object run() {
                AbstractTensor a = quantizeActivations ? ops.quantize(x, DType.I8, 0, k) : x;
                VectorMath.pchunk(0, s.n(), (start, len) -> ops.dotProductChunk(y, a, w, 0, k, start, len));
                return y;
            }

            @Override
            public void close() {
            }
        };
    }
}
