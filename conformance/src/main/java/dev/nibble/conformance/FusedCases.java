package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.Capability.RotationKind;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.conformance.reference.RefLinear;
import dev.nibble.conformance.reference.RefQuantizer;
import dev.nibble.conformance.reference.RefRotation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/** {@link PreparedLinear#forward} of the plans each method produces, against the reference composition. */
final class FusedCases {
    static final String PREFIX = "fused PreparedLinear: ";

    private FusedCases() {
    }

    /** A named plan recipe, what it needs, and the steps to run. */
    record Recipe(String name, Set<Capability> needs, int k, int n, int steps, Function<TestData, QuantizedLinear> plan) {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        List<DynamicNode> out = new ArrayList<>();
        for (Recipe r : recipes()) {
            out.add(kit.group(PREFIX + r.name(), r.needs(), cases(kit, r)));
        }
        return out.stream();
    }

    /** @return the plan of each method the kit runs through the fused path (also with BF16 activations) */
    static List<Recipe> recipes() {
        return List.of(
                new Recipe("ConvRot W4A4: regular Hadamard 64, dynamic per-token int4, int4 per-channel weights, bias",
                        Set.of(new Capability.Rotate(RotationKind.REGULAR_HADAMARD), new Capability.Quantize(4),
                                new Capability.IntGemm(4, 4, false)), 200, 48, 1,
                        d -> quantizedPlan(d, "convrot", 200, 48, new Rotation.RegularHadamard(64),
                                QuantScheme.symmetric(4, Granularity.PER_CHANNEL),
                                new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)), false, false, 0)),
                new Recipe("ConvRot W4A4 at DiT-XL width: regular Hadamard 256, K=1152",
                        Set.of(new Capability.Rotate(RotationKind.REGULAR_HADAMARD), new Capability.Quantize(4),
                                new Capability.IntGemm(4, 4, false)), 1152, 40, 1,
                        d -> quantizedPlan(d, "convrot-xl", 1152, 40, new Rotation.RegularHadamard(256),
                                QuantScheme.symmetric(4, Granularity.PER_CHANNEL),
                                new ActivationQuant.Dynamic(QuantScheme.symmetric(4, Granularity.PER_TOKEN)), false, false, 0)),
                new Recipe("ConvRot W8A8: regular Hadamard 256, K=1152, dynamic per-token int8, int8 per-channel weights, bias",
                        Set.of(new Capability.Rotate(RotationKind.REGULAR_HADAMARD), new Capability.Quantize(8),
                                new Capability.IntGemm(8, 8, false)), 1152, 40, 1,
                        d -> quantizedPlan(d, "convrot-w8a8", 1152, 40, new Rotation.RegularHadamard(256),
                                QuantScheme.symmetric(8, Granularity.PER_CHANNEL),
                                new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN)), false, false, 0)),
                new Recipe("SVDQuant W4A4: smoothing, per-group int4 g64 activations and weights, low-rank r=16 (F16), bias",
                        Set.of(new Capability.SmoothShift(), new Capability.Quantize(4), new Capability.IntGemm(4, 4, true),
                                new Capability.LowRankBranch(16)), 200, 48, 1,
                        d -> quantizedPlan(d, "svdquant", 200, 48, new Rotation.Identity(), QuantScheme.symmetricGroup(4, 64),
                                new ActivationQuant.Dynamic(QuantScheme.symmetricGroup(4, 64)), true, false, 16)),
                new Recipe("QuaRot W8A8: global Sylvester K=1152, shift, per-token int8, int8 per-channel weights",
                        Set.of(new Capability.Rotate(RotationKind.SYLVESTER_HADAMARD), new Capability.SmoothShift(),
                                new Capability.Quantize(8), new Capability.IntGemm(8, 8, false)), 1152, 24, 1,
                        d -> quantizedPlan(d, "quarot-w8a8", 1152, 24, Rotation.SylvesterHadamard.GLOBAL,
                                QuantScheme.symmetric(8, Granularity.PER_CHANNEL),
                                new ActivationQuant.Dynamic(QuantScheme.symmetric(8, Granularity.PER_TOKEN)), false, true, 0)),
                new Recipe("W4A16 NF4 g64 weight-only, bias",
                        Set.of(new Capability.WeightOnlyGemm(DType.NF4)), 200, 48, 1,
                        d -> quantizedPlan(d, "nf4", 200, 48, new Rotation.Identity(), QuantScheme.nf4(64),
                                new ActivationQuant.None(), false, false, 0)),
                new Recipe("TFMQ static per-step table: int8 per-tensor, 3 steps, int8 per-channel weights",
                        Set.of(new Capability.Quantize(8), new Capability.IntGemm(8, 8, false)), 200, 48, 3,
                        d -> staticPlan(d, 200, 48)),
                new Recipe("dense F16 weight, shift, bias (full precision layer)",
                        Set.of(new Capability.FloatGemm(), new Capability.SmoothShift()), 200, 48, 1,
                        d -> densePlan(d, 200, 48)));
    }

    private static Stream<DynamicNode> cases(Kit kit, Recipe r) {
        List<DynamicNode> t = new ArrayList<>();
        int[] ms = kit.full ? new int[] {1, 7, 33, 256} : new int[] {1, 7, 33};
        for (int m : ms) {
            for (int step = 0; step < r.steps(); step++) {
                int st = step;
                String name = "forward M=" + m + (r.steps() > 1 ? " step=" + step : "");
                t.add(kit.test(name, (s, data) -> {
                    QuantizedLinear plan = r.plan().apply(data);
                    PreparedLinear p = s.keep(kit.backend.prepare(plan));
                    float[] x = data.activations(m, r.k());
                    s.poison(DType.F32, m, r.n());
                    float[] y = s.floats("forward", p.forward(s.up(x, m, r.k()), st), m, r.n());
                    Tolerance.assertClose(r.name() + " " + name, y, RefLinear.forward(plan, x, m, st));
                }));
            }
        }
        t.add(kit.test("forward keeps leading dimensions [2, 3, K]", (s, data) -> {
            QuantizedLinear plan = r.plan().apply(data);
            PreparedLinear p = s.keep(kit.backend.prepare(plan));
            float[] x = data.activations(6, r.k());
            float[] y = s.floats("forward", p.forward(s.up(x, 2, 3, r.k())), 2, 3, r.n());
            Tolerance.assertClose(r.name() + " 3-d", y, RefLinear.forward(plan, x, 6, 0));
        }));
        t.add(kit.test("concurrent forward calls on one prepared layer", (s, data) -> {
            QuantizedLinear plan = r.plan().apply(data);
            PreparedLinear p = s.keep(kit.backend.prepare(plan));
            int threads = 4;
            float[][] xs = new float[threads][];
            for (int i = 0; i < threads; i++) {
                xs[i] = data.activations(5, r.k());
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
            try {
                List<java.util.concurrent.Future<float[]>> results = new ArrayList<>();
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < threads; i++) {
                        int j = i;
                        results.add(pool.submit(() -> {
                            try (DeviceTensor x = kit.backend.upload(Tensor.ofFloats(xs[j], 5, r.k()));
                                    DeviceTensor y = p.forward(x, r.steps() - 1)) {
                                return kit.backend.download(y).toFloatArray();
                            }
                        }));
                    }
                }
                for (int q = 0; q < results.size(); q++) {
                    int i = q % threads;
                    Tolerance.assertClose(r.name() + " concurrent forward on thread " + i, results.get(q).get(),
                            RefLinear.forward(plan, xs[i], 5, r.steps() - 1));
                }
            } finally {
                pool.shutdownNow();
            }
        }));
        t.add(kit.test("forward rejects x with K+1 columns", (s, data) -> {
            PreparedLinear p = s.keep(kit.backend.prepare(r.plan().apply(data)));
            DeviceTensor x = s.up(data.activations(2, r.k() + 1), 2, r.k() + 1);
            assertThatThrownBy(() -> s.keep(p.forward(x))).isInstanceOf(InvalidInputException.class);
        }));
        return t.stream();
    }

    private static QuantizedLinear quantizedPlan(TestData d, String name, int k, int n, Rotation rot, QuantScheme ws,
            ActivationQuant act, boolean smooth, boolean shift, int rank) {
        int kp = rot.outputDim(k);
        float[] w = d.weights(n, k);
        float[] wt = RefRotation.apply(w, n, k, rot).toFloats();
        QuantizedLinear.Builder b = QuantizedLinear.builder(name, k, n)
                .rotation(rot)
                .weight(RefQuantizer.quantize(wt, n, kp, ws).toQuantizedTensor())
                .activation(act)
                .bias(Tensor.ofFloats(d.uniform(n, -1, 1), n));
        if (smooth) {
            b.smooth(Tensor.ofFloats(d.positive(k), k));
        }
        if (shift) {
            b.shift(Tensor.ofFloats(d.uniform(k, -2, 2), k));
        }
        if (rank > 0) {
            b.lowRank(new LowRank(Tensor.ofFloats(d.weights(kp, rank), kp, rank).to(DType.F16),
                    Tensor.ofFloats(d.weights(n, rank), n, rank).to(DType.F16)));
        }
        return b.build();
    }

    private static QuantizedLinear staticPlan(TestData d, int k, int n) {
        float[] w = d.weights(n, k);
        QuantScheme as = QuantScheme.symmetric(8, Granularity.PER_TENSOR).asStatic();
        // calibrated scales for three steps: one clips hard, one is loose, one is a power of two
        float[] scales = {0.02f, 0.31f, 0.125f};
        return QuantizedLinear.builder("tfmq-static", k, n)
                .weight(RefQuantizer.quantize(w, n, k, QuantScheme.symmetric(8, Granularity.PER_CHANNEL)).toQuantizedTensor())
                .activation(new ActivationQuant.StaticTable(as, scales, new int[3]))
                .bias(Tensor.ofFloats(d.uniform(n, -1, 1), n))
                .build();
    }

    private static QuantizedLinear densePlan(TestData d, int k, int n) {
        return QuantizedLinear.builder("dense", k, n)
                .denseWeight(Tensor.ofFloats(d.weights(n, k), n, k).to(DType.F16))
                .shift(Tensor.ofFloats(d.uniform(k, -2, 2), k))
                .bias(Tensor.ofFloats(d.uniform(n, -1, 1), n))
                .build();
    }
}
