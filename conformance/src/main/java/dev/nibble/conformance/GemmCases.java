package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.conformance.reference.RefGemm;
import dev.nibble.conformance.reference.RefQuantized;
import dev.nibble.conformance.reference.RefQuantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** Integer GEMMs (exact accumulators), weight-only, float and low-rank GEMMs. */
final class GemmCases {
    private GemmCases() {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        List<DynamicNode> out = new ArrayList<>();
        for (int[] bits : new int[][] {{4, 4}, {8, 8}, {8, 4}}) {
            out.add(intGemm(kit, bits[0], bits[1], false));
            out.add(intGemm(kit, bits[0], bits[1], true));
        }
        for (DType t : new DType[] {DType.INT4, DType.UINT4, DType.I8, DType.NF4}) {
            out.add(weightOnly(kit, t));
        }
        out.add(floatGemm(kit));
        out.add(lowRank(kit));
        return out.stream();
    }

    /** (M, N, K) triples: M=1, odd, K not a multiple of any group, the QuaRot widths. */
    static int[][] shapes(Kit kit) {
        return kit.full
                ? new int[][] {{1, 8, 64}, {3, 5, 33}, {7, 17, 200}, {16, 32, 256}, {2, 24, 1152}, {64, 96, 1000},
                    {128, 256, 3072}}
                : new int[][] {{1, 8, 64}, {3, 5, 33}, {7, 17, 200}, {16, 32, 256}, {2, 24, 1152}, {33, 40, 384}};
    }

    private static DynamicNode intGemm(Kit kit, int abits, int wbits, boolean grouped) {
        List<DynamicNode> t = new ArrayList<>();
        List<QuantScheme[]> pairs = new ArrayList<>();
        if (grouped) {
            for (int g : new int[] {32, 64, 128}) {
                pairs.add(new QuantScheme[] {QuantScheme.symmetricGroup(abits, g), QuantScheme.symmetricGroup(wbits, g)});
            }
            pairs.add(new QuantScheme[] {QuantScheme.affine(abits, Granularity.PER_GROUP, 64), QuantScheme.symmetricGroup(wbits, 64)});
            pairs.add(new QuantScheme[] {QuantScheme.symmetricGroup(abits, 32), QuantScheme.affine(wbits, Granularity.PER_GROUP, 32)});
        } else {
            pairs.add(new QuantScheme[] {QuantScheme.symmetric(abits, Granularity.PER_TOKEN), QuantScheme.symmetric(wbits, Granularity.PER_CHANNEL)});
            pairs.add(new QuantScheme[] {QuantScheme.affine(abits, Granularity.PER_TOKEN, 0), QuantScheme.symmetric(wbits, Granularity.PER_CHANNEL)});
            pairs.add(new QuantScheme[] {QuantScheme.symmetric(abits, Granularity.PER_TENSOR), QuantScheme.symmetric(wbits, Granularity.PER_CHANNEL).withNarrowRange()});
        }
        for (QuantScheme[] p : pairs) {
            for (int[] mnk : shapes(kit)) {
                int m = mnk[0];
                int n = mnk[1];
                int k = mnk[2];
                String shape = " [" + m + ", " + k + "] x [" + n + ", " + k + "]";
                String name = p[0].describe() + " x " + p[1].describe() + shape;
                t.add(kit.test("gemmAccumulate " + name, (s, data) -> {
                    RefQuantized a = RefQuantizer.quantize(data.activations(m, k), m, k, p[0]);
                    RefQuantized w = RefQuantizer.quantize(data.weights(n, k), n, k, p[1]);
                    long[] acc = RefGemm.accumulate(a, w); // throws if an accumulator overflows int32
                    long[] shapeOut = grouped ? new long[] {a.groups(), m, n} : new long[] {m, n};
                    s.poison(DType.I32, shapeOut);
                    int[] got = s.ints("gemmAccumulate", kit.backend.gemmAccumulate(s.up(a.toQuantizedTensor()),
                            s.up(w.toQuantizedTensor())), shapeOut);
                    int[] expected = new int[acc.length];
                    for (int i = 0; i < acc.length; i++) {
                        expected[i] = (int) acc[i];
                    }
                    Tolerance.assertExact("gemmAccumulate " + name, got, expected);
                }));
                t.add(kit.test("gemmQuantized " + name, (s, data) -> {
                    RefQuantized a = RefQuantizer.quantize(data.activations(m, k), m, k, p[0]);
                    RefQuantized w = RefQuantizer.quantize(data.weights(n, k), n, k, p[1]);
                    s.poison(DType.F32, m, n);
                    float[] y = s.floats("gemmQuantized", kit.backend.gemmQuantized(s.up(a.toQuantizedTensor()),
                            s.up(w.toQuantizedTensor())), m, n);
                    Tolerance.assertClose("gemmQuantized " + name, y, RefGemm.quantized(a, w));
                }));
            }
        }
        QuantScheme[] p0 = pairs.get(0);
        t.add(kit.test("integer GEMMs reject operands of different K", (s, data) -> {
            DeviceQuantized a = s.up(RefQuantizer.quantize(data.activations(2, 64), 2, 64, p0[0]).toQuantizedTensor());
            DeviceQuantized w = s.up(RefQuantizer.quantize(data.weights(3, 128), 3, 128, p0[1]).toQuantizedTensor());
            assertThatThrownBy(() -> s.keep(kit.backend.gemmAccumulate(a, w))).as("gemmAccumulate").isInstanceOf(InvalidInputException.class);
            assertThatThrownBy(() -> s.keep(kit.backend.gemmQuantized(a, w))).as("gemmQuantized").isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.IntGemm(abits, wbits, grouped), t.stream());
    }

    private static DynamicNode weightOnly(Kit kit, DType type) {
        List<QuantScheme> schemes = switch (type) {
            case INT4 -> List.of(QuantScheme.symmetric(4, Granularity.PER_CHANNEL), QuantScheme.symmetricGroup(4, 64),
                    QuantScheme.symmetricGroup(4, 128).withNarrowRange());
            case UINT4 -> List.of(QuantScheme.affine(4, Granularity.PER_GROUP, 64), QuantScheme.affine(4, Granularity.PER_CHANNEL, 0));
            case I8 -> List.of(QuantScheme.symmetric(8, Granularity.PER_CHANNEL), QuantScheme.symmetricGroup(8, 32));
            case NF4 -> List.of(QuantScheme.nf4(64), QuantScheme.nf4(32));
            default -> throw new IllegalArgumentException(type.toString());
        };
        List<DynamicNode> t = new ArrayList<>();
        for (QuantScheme scheme : schemes) {
            for (int[] mnk : shapes(kit)) {
                int m = mnk[0];
                int n = mnk[1];
                int k = mnk[2];
                String name = "gemmWeightOnly F32 x " + scheme.describe() + " [" + m + ", " + k + "] x [" + n + ", " + k + "]";
                t.add(kit.test(name, (s, data) -> {
                    float[] x = data.activations(m, k);
                    RefQuantized w = RefQuantizer.quantize(data.weights(n, k), n, k, scheme);
                    s.poison(DType.F32, m, n);
                    float[] y = s.floats("gemmWeightOnly", kit.backend.gemmWeightOnly(s.up(x, m, k), s.up(w.toQuantizedTensor())), m, n);
                    Tolerance.assertClose(name, y, RefGemm.weightOnly(x, m, w));
                }));
            }
        }
        QuantScheme s0 = schemes.get(0);
        t.add(kit.test("gemmWeightOnly rejects x of another K", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 65), 2, 65);
            DeviceQuantized w = s.up(RefQuantizer.quantize(data.weights(3, 64), 3, 64, s0).toQuantizedTensor());
            assertThatThrownBy(() -> s.keep(kit.backend.gemmWeightOnly(x, w))).isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.WeightOnlyGemm(type), t.stream());
    }

    private static DynamicNode floatGemm(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (DType wt : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int[] mnk : shapes(kit)) {
                int m = mnk[0];
                int n = mnk[1];
                int k = mnk[2];
                String name = "gemm F32 x " + wt + " [" + m + ", " + k + "] x [" + n + ", " + k + "]";
                t.add(kit.test(name, (s, data) -> {
                    float[] x = data.activations(m, k);
                    Tensor w = Tensor.ofFloats(data.weights(n, k), n, k).to(wt);
                    s.poison(DType.F32, m, n);
                    float[] y = s.floats("gemm", kit.backend.gemm(s.up(x, m, k), s.up(w)), m, n);
                    Tolerance.assertClose(name, y, RefGemm.gemm(x, m, k, w.toFloatArray(), n));
                }));
            }
        }
        t.add(kit.test("gemm keeps leading dimensions: [2, 3, 40] x [8, 40]", (s, data) -> {
            float[] x = data.activations(6, 40);
            float[] w = data.weights(8, 40);
            float[] y = s.floats("gemm", kit.backend.gemm(s.up(x, 2, 3, 40), s.up(w, 8, 40)), 2, 3, 8);
            Tolerance.assertClose("gemm 3-d", y, RefGemm.gemm(x, 6, 40, w, 8));
        }));
        t.add(kit.test("gemm rejects operands of different K", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 33), 2, 33);
            DeviceTensor w = s.up(data.weights(3, 32), 3, 32);
            assertThatThrownBy(() -> s.keep(kit.backend.gemm(x, w))).isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.FloatGemm(), t.stream());
    }

    private static DynamicNode lowRank(Kit kit) {
        List<DynamicNode> t = new ArrayList<>();
        for (DType ft : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int r : new int[] {1, 8, 32}) {
                for (int[] mnk : new int[][] {{1, 8, 64}, {7, 17, 200}, {16, 48, 1152}}) {
                    int m = mnk[0];
                    int n = mnk[1];
                    int k = mnk[2];
                    String name = "lowRank r=" + r + " " + ft + " [" + m + ", " + k + "] -> [" + m + ", " + n + "]";
                    t.add(kit.test(name, (s, data) -> {
                        float[] x = data.activations(m, k);
                        Tensor down = Tensor.ofFloats(data.weights(k, r), k, r).to(ft);
                        Tensor up = Tensor.ofFloats(data.weights(n, r), n, r).to(ft);
                        s.poison(DType.F32, m, n);
                        float[] y = s.floats("lowRank", kit.backend.lowRank(s.up(x, m, k), s.up(down), s.up(up)), m, n);
                        Tolerance.assertClose(name, y, RefGemm.lowRank(RefGemm.toDouble(x), null, m, k,
                                down.toFloatArray(), up.toFloatArray(), n, r));
                    }));
                }
            }
        }
        t.add(kit.test("lowRank rejects factors of different rank", (s, data) -> {
            DeviceTensor x = s.up(data.activations(2, 16), 2, 16);
            DeviceTensor down = s.up(data.weights(16, 4), 16, 4);
            DeviceTensor up = s.up(data.weights(8, 5), 8, 5);
            assertThatThrownBy(() -> s.keep(kit.backend.lowRank(x, down, up))).isInstanceOf(InvalidInputException.class);
        }));
        return kit.capability(new Capability.LowRankBranch(32), t.stream());
    }
}
