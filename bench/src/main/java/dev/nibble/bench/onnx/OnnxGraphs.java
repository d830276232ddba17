package dev.nibble.bench.onnx;

import java.util.ArrayList;
import java.util.List;

/**
 * Single-node ONNX models built in code, so the peers run on exactly the benchmark's shapes
 * without model files. Field numbers are those of the public onnx.proto (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto).
 */
public final class OnnxGraphs {
    /** TensorProto.DataType values. */
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;

    private static final long IR_VERSION = 8;
    private static final long DEFAULT_OPSET = 17;
    private static final String MICROSOFT = "com.microsoft";
    private static final int ATTRIBUTE_INT = 2;

    private OnnxGraphs() {
    }

    /** A graph input, output or initializer value. */
    public record Value(String name, int dataType, long[] dims) {
    }

    /** A constant tensor stored in the model (little-endian raw bytes). */
    public record Initializer(Value value, byte[] raw) {
    }

    /**
     * @param opType the operator
     * @param domain "" for the default domain, or {@code com.microsoft}
     * @param inputs node input names in order (empty string for an omitted optional input)
     * @param output the single output
     * @param intAttributes name/value pairs
     * @param graphInputs runtime inputs
     * @param initializers constants
     * @return the serialized ModelProto
     */
    public static byte[] singleNode(String opType, String domain, List<String> inputs, Value output,
            List<Object[]> intAttributes, List<Value> graphInputs, List<Initializer> initializers) {
        ProtoWriter node = new ProtoWriter();
        for (String in : inputs) {
            node.string(1, in);
        }
        node.string(2, output.name()).string(3, opType + "_0").string(4, opType);
        for (Object[] a : intAttributes) {
            node.message(5, new ProtoWriter().string(1, (String) a[0]).varint(3, ((Number) a[1]).longValue())
                    .varint(20, ATTRIBUTE_INT));
        }
        if (!domain.isEmpty()) {
            node.string(7, domain);
        }
        ProtoWriter graph = new ProtoWriter().message(1, node).string(2, "nibble_bench_" + opType);
        for (Initializer init : initializers) {
            graph.message(5, tensor(init));
        }
        for (Value in : graphInputs) {
            graph.message(11, valueInfo(in));
        }
        graph.message(12, valueInfo(output));
        ProtoWriter model = new ProtoWriter().varint(1, IR_VERSION).string(2, "nibble-bench").message(7, graph)
                .message(8, new ProtoWriter().string(1, "").varint(2, DEFAULT_OPSET));
        if (!domain.isEmpty()) {
            model.message(8, new ProtoWriter().string(1, domain).varint(2, 1));
        }
        return model.toByteArray();
    }

    /** {@code Y[M,N] = A[M,K] · B[K,N]} in float32. */
    public static byte[] matMul(int m, int k, int n, byte[] bF32) {
        Value b = new Value("B", FLOAT, new long[] {k, n});
        return singleNode("MatMul", "", List.of("A", "B"), new Value("Y", FLOAT, new long[] {m, n}), List.of(),
                List.of(new Value("A", FLOAT, new long[] {m, k})), List.of(new Initializer(b, bF32)));
    }

    /** {@code Y[M,N] = (A - aZero) · B} in int32 with A uint8 and B int8 {@code [K,N]}. */
    public static byte[] matMulInteger(int m, int k, int n, byte[] bS8, int aZero) {
        List<Initializer> inits = new ArrayList<>();
        inits.add(new Initializer(new Value("B", INT8, new long[] {k, n}), bS8));
        inits.add(new Initializer(new Value("a_zero", UINT8, new long[] {}), new byte[] {(byte) aZero}));
        return singleNode("MatMulInteger", "", List.of("A", "B", "a_zero"), new Value("Y", INT32, new long[] {m, n}),
                List.of(), List.of(new Value("A", UINT8, new long[] {m, k})), inits);
    }

    /**
     * ONNX Runtime's contrib MatMulNBits: {@code Y = A · dequant(B)ᵀ} with B 4-bit blocks along K,
     * {@code [N, K/block, block/2]}, low nibble first, no zero points (so the implicit zero point 8),
     * float scales {@code [N · K/block]}.
     */
    public static byte[] matMulNBits(int m, int k, int n, int blockSize, int accuracyLevel, byte[] packed,
            byte[] scalesF32) {
        int blocks = k / blockSize;
        List<Initializer> inits = List.of(
                new Initializer(new Value("B", UINT8, new long[] {n, blocks, blockSize / 2}), packed),
                new Initializer(new Value("scales", FLOAT, new long[] {(long) n * blocks}), scalesF32));
        List<Object[]> attrs = List.of(new Object[] {"K", k}, new Object[] {"N", n}, new Object[] {"bits", 4},
                new Object[] {"block_size", blockSize}, new Object[] {"accuracy_level", accuracyLevel});
        return singleNode("MatMulNBits", MICROSOFT, List.of("A", "B", "scales"),
                new Value("Y", FLOAT, new long[] {m, n}), attrs, List.of(new Value("A", FLOAT, new long[] {m, k})),
                inits);
    }

    private static ProtoWriter tensor(Initializer init) {
        ProtoWriter t = new ProtoWriter();
        for (long d : init.value().dims()) {
            t.varint(1, d);
        }
        return t.varint(2, init.value().dataType()).string(8, init.value().name()).bytes(9, init.raw());
    }

    private static ProtoWriter valueInfo(Value v) {
        ProtoWriter shape = new ProtoWriter();
        for (long d : v.dims()) {
            shape.message(1, new ProtoWriter().varint(1, d));
        }
        ProtoWriter tensorType = new ProtoWriter().varint(1, v.dataType()).message(2, shape);
        return new ProtoWriter().string(1, v.name()).message(2, new ProtoWriter().message(1, tensorType));
    }
}
