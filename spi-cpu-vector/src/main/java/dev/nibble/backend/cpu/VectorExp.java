package dev.nibble.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp and tanh on float vectors built from add, multiply, fma, compare and bit operations only, so
 * the result has the same bits whether a method runs interpreted, C1- or C2-compiled. The Vector
 * API's lanewise EXP/TANH do not: C2 calls the platform's short-vector math stubs (SVML on x86),
 * which round differently from the per-lane fallback, and which one runs depends on JIT timing —
 * the same input then gave different outputs from one JVM run to the next.
 *
 * <p>exp: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial to r^7 (truncation below
 * 1e-8 relative), 2^n added to the exponent bits. Error ≤ 2 ulp for x in [-87, 88]; below -87 the
 * result is 0 (e^-87 ≈ 1.6e-38), in (88, 88.72] it is e^88 (callers need e^x ≤ 1 or saturation),
 * above 88.72 +Inf; NaN stays NaN.
 */
final class VectorExp {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    /** 1.5·2^23: adding it rounds to an integer (half to even) that sits in the low mantissa bits. */
    private static final float SHIFTER = 12582912f;
    private static final int SHIFTER_BITS = Float.floatToRawIntBits(SHIFTER);

    private VectorExp() {
    }

    static FloatVector exp(FloatVector x) {
        var sp = x.species();
        FloatVector xc = x.max(-87f).min(88f);
        FloatVector t = xc.fma(LOG2E, SHIFTER);
        FloatVector n = t.sub(SHIFTER);
        FloatVector r = n.fma(FloatVector.broadcast(sp, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(sp, -LN2_LO), r);
        FloatVector p = r.fma(1f / 5040f, 1f / 720f);
        p = p.fma(r, FloatVector.broadcast(sp, 1f / 120f));
        p = p.fma(r, FloatVector.broadcast(sp, 1f / 24f));
        p = p.fma(r, FloatVector.broadcast(sp, 1f / 6f));
        p = p.fma(r, FloatVector.broadcast(sp, 0.5f));
        p = p.fma(r, FloatVector.broadcast(sp, 1f));
        p = p.fma(r, FloatVector.broadcast(sp, 1f));
        IntVector scale = ((IntVector) t.reinterpretAsInts()).sub(SHIFTER_BITS).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = ((IntVector) p.reinterpretAsInts()).add(scale).reinterpretAsFloats();
        e = e.blend(0f, x.lt(-87f));
        e = e.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72283935546875f));
        return e.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /** tanh(u) = 1 - 2/(e^(2u) + 1): saturates to ±1, absolute error about 1e-7 near 0. */
    static FloatVector tanh(FloatVector u) {
        FloatVector two = FloatVector.broadcast(u.species(), 2f);
        return two.div(exp(u.mul(2f)).add(1f)).neg().add(1f);
    }
}
