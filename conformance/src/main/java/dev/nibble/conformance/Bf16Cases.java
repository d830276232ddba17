package dev.nibble.conformance;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Capability;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.conformance.reference.RefLinear;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;

/**
 * {@link PreparedLinear#forward} with BF16 activations, defined by the F32 path bit for bit: the
 * BF16 result must be {@link Bf16#round} of the F32 result the same backend gives for the widened
 * x (a NaN only has to stay a NaN). One group per fused-path plan of {@link FusedCases}, and one
 * identity layer whose outputs sit exactly on rounding ties, at the overflow threshold and on NaN.
 */
final class Bf16Cases {
    static final String PREFIX = "fused PreparedLinear, BF16 activations: ";
    static final String ROUNDING = PREFIX + "RNE on an identity layer (ties to even, overflow to infinity, NaN)";

    private Bf16Cases() {
    }

    static Stream<DynamicNode> tests(Kit kit) {
        List<DynamicNode> out = new ArrayList<>();
        for (FusedCases.Recipe r : FusedCases.recipes()) {
            out.add(kit.group(PREFIX + r.name(), r.needs(), cases(kit, r)));
        }
        out.add(kit.group(ROUNDING, Set.of(new Capability.FloatGemm()), Stream.of(
                kit.test("BF16 out == RNE(x + bias), exact, on ties, near-ties, ±max and NaN rows",
                        (s, data) -> identityLayer(kit, s, data)))));
        return out.stream();
    }

    private static Stream<DynamicNode> cases(Kit kit, FusedCases.Recipe r) {
        List<DynamicNode> t = new ArrayList<>();
        int[] ms = kit.full ? new int[] {1, 7, 33, 256} : new int[] {1, 33};
        for (int m : ms) {
            for (int step = 0; step < r.steps(); step++) {
                int st = step;
                String name = "BF16 x [" + m + ", K] -> BF16 [" + m + ", N] == RNE(F32 forward of the widened x)"
                        + (r.steps() > 1 ? " step=" + step : "");
                t.add(kit.test(name, (s, data) -> {
                    QuantizedLinear plan = r.plan().apply(data);
                    PreparedLinear p = s.keep(kit.backend.prepare(plan));
                    Tensor x16 = Tensor.ofFloats(data.activations(m, r.k()), m, r.k()).to(DType.BF16);
                    float[] wide = x16.toFloatArray();
                    s.poison(DType.F32, m, r.n());
                    float[] y32 = s.floats("forward of the widened x", p.forward(s.up(wide, m, r.k()), st), m, r.n());
                    Tolerance.assertClose(r.name() + " F32 forward of the widened x", y32, RefLinear.forward(plan, wide, m, st));
                    s.poison(DType.BF16, m, r.n());
                    DeviceTensor x = s.up(x16);
                    short[] y16 = s.bf16("forward of the BF16 x", p.forward(x, st), m, r.n());
                    assertRounded(r.name() + " " + name, y16, y32);
                }));
            }
        }
        t.add(kit.test("BF16 x [2, 3, K] -> BF16 [2, 3, N] == RNE(F32 forward)", (s, data) -> {
            QuantizedLinear plan = r.plan().apply(data);
            PreparedLinear p = s.keep(kit.backend.prepare(plan));
            Tensor x16 = Tensor.ofFloats(data.activations(6, r.k()), 2, 3, r.k()).to(DType.BF16);
            float[] y32 = s.floats("forward of the widened x", p.forward(s.up(x16.to(DType.F32))), 2, 3, r.n());
            short[] y16 = s.bf16("forward of the BF16 x", p.forward(s.up(x16)), 2, 3, r.n());
            assertRounded(r.name() + " 3-d", y16, y32);
        }));
        t.add(kit.test("forward refuses F16 x, naming the layer and the dtype", (s, data) -> {
            QuantizedLinear plan = r.plan().apply(data);
            PreparedLinear p = s.keep(kit.backend.prepare(plan));
            DeviceTensor x = s.up(Tensor.ofFloats(data.activations(2, r.k()), 2, r.k()).to(DType.F16));
            assertThatThrownBy(() -> s.keep(p.forward(x))).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(plan.name()).hasMessageContaining("F16");
        }));
        return t.stream();
    }

    /**
     * y = x·I + bias with every output exact in F32 and placed by construction: column j holds
     * values of one binade 2^e_j (normal numbers, e from -100 to 127) and its bias is a fixed
     * fraction of a BF16 ulp there (a half: a tie; a half plus or minus 2^-12 ulp; a quarter; three
     * quarters). Row 0 has the largest mantissa (±max BF16 where e = 127: a positive tie past it is
     * +infinity, a negative one -infinity); the last row has a NaN, which the F32 path spreads over
     * the row. Checks the contract element-wise and the exact expected values where y is finite.
     */
    private static void identityLayer(Kit kit, Kit.Scope s, TestData data) {
        int k = 64;
        int m = 8;
        float[] w = new float[k * k];
        for (int i = 0; i < k; i++) {
            w[i * k + i] = 1f;
        }
        int[] exponent = new int[k];
        float[] bias = new float[k];
        double[] fractions = {0.5, 0.5 + 0x1p-12, 0.5 - 0x1p-12, 0.25, 0.75};
        for (int j = 0; j < k; j++) {
            exponent[j] = j >= k - 2 ? 127 : -100 + j * 227 / (k - 3);
            double ulp = Math.scalb(1.0, exponent[j] - 7);
            double f = j >= k - 2 ? 0.5 : fractions[j % fractions.length];
            bias[j] = (float) ((j == k - 1 || j % 7 == 3 ? -1 : 1) * f * ulp);
        }
        float[] x = new float[m * k];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                int mantissa = i == 0 ? 127 : i == 1 ? 0 : data.nextInt(128);
                float sign = (i + j) % 2 == 0 ? 1f : -1f;
                x[i * k + j] = sign * Math.scalb(1f + mantissa / 128f, exponent[j]);
            }
        }
        x[(m - 1) * k] = Float.NaN;
        QuantizedLinear plan = QuantizedLinear.builder("bf16-identity", k, k)
                .denseWeight(Tensor.ofFloats(w, k, k))
                .bias(Tensor.ofFloats(bias, k))
                .build();
        PreparedLinear p = s.keep(kit.backend.prepare(plan));
        Tensor x16 = Tensor.ofFloats(x, m, k).to(DType.BF16);
        float[] y32 = s.floats("forward of the widened x", p.forward(s.up(x16.to(DType.F32))), m, k);
        s.poison(DType.BF16, m, k);
        DeviceTensor dx = s.up(x16);
        short[] y16 = s.bf16("forward of the BF16 x", p.forward(dx), m, k);
        assertRounded("identity layer", y16, y32);
        int ties = 0;
        int infinities = 0;
        for (int i = 0; i < m - 1; i++) {
            for (int j = 0; j < k; j++) {
                float want32 = x[i * k + j] + bias[j]; // exact: bias is at least 2^-19 of x's binade
                int at = i * k + j;
                if (Float.floatToIntBits(y32[at]) != Float.floatToIntBits(want32)) {
                    throw new AssertionError(String.format("identity layer: F32 y[%d][%d] = %s, exactly %s expected"
                            + " (x·I + bias has no rounding)", i, j, y32[at], want32));
                }
                short want = Bf16.round(want32);
                if (y16[at] != want) {
                    throw new AssertionError(String.format("identity layer: BF16 y[%d][%d] = 0x%04x, RNE(%s = 0x%08x) is 0x%04x",
                            i, j, y16[at], want32, Float.floatToRawIntBits(want32), want));
                }
                ties += (Float.floatToRawIntBits(want32) & 0xFFFF) == 0x8000 ? 1 : 0;
                infinities += Float.isInfinite(Bf16.widen(want)) ? 1 : 0;
            }
        }
        if (!Bf16.isNaN(y16[(m - 1) * k])) {
            throw new AssertionError(String.format("identity layer: the NaN in x[%d][0] gave BF16 y[%d][0] = 0x%04x, not a NaN",
                    m - 1, m - 1, y16[(m - 1) * k]));
        }
        if (ties < 50 || infinities < 2) {
            throw new AssertionError("identity layer: the data has " + ties + " ties and " + infinities
                    + " overflows; the case is meant to have many of both");
        }
    }

    /** Every element: the BF16 result is RNE of the F32 result, or both are NaN. */
    static void assertRounded(String what, short[] got, float[] f32) {
        if (got.length != f32.length) {
            throw new AssertionError(what + ": " + got.length + " BF16 elements, the F32 path gave " + f32.length);
        }
        int bad = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < got.length; i++) {
            short want = Bf16.round(f32[i]);
            if (got[i] != want && !(Bf16.isNaN(got[i]) && Float.isNaN(f32[i]))) {
                if (bad < 5) {
                    sb.append(String.format("%n  [%d] got 0x%04x (%s), RNE of the F32 path's %s (0x%08x) is 0x%04x", i, got[i],
                            Bf16.widen(got[i]), f32[i], Float.floatToRawIntBits(f32[i]), want));
                }
                bad++;
            }
        }
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + got.length
                    + " BF16 elements are not RNE of the F32 result for the widened x (must be bit-identical)" + sb);
        }
    }
}
