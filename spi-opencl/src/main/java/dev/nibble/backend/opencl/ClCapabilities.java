package dev.nibble.backend.opencl;

import dev.nibble.api.DType;
import dev.nibble.api.backend.Capability;
import java.util.LinkedHashSet;
import java.util.Set;

/** The capabilities an OpenCL device offers, from its facts. */
final class ClCapabilities {
    /** The largest low-rank rank declared; the branch is two tiled GEMMs, so any rank runs. */
    static final int MAX_RANK = 1024;

    private ClCapabilities() {
    }

    static Set<Capability> of(ClDeviceFacts f) {
        Set<Capability> c = new LinkedHashSet<>();
        for (Capability.RotationKind k : Capability.RotationKind.values()) {
            c.add(new Capability.Rotate(k));
        }
        c.add(new Capability.FloatGemm());
        c.add(new Capability.LowRankBranch(MAX_RANK));
        c.add(new Capability.DitOps());
        for (DType t : new DType[] {DType.INT4, DType.UINT4, DType.I8, DType.U8, DType.NF4}) {
            c.add(new Capability.WeightOnlyGemm(t));
        }
        // everything that divides needs exact float32 division; without it, it is not offered
        if (f.exactDivision()) {
            c.add(new Capability.SmoothShift());
            c.add(new Capability.Quantize(4));
            c.add(new Capability.Quantize(8));
            c.add(new Capability.QuantizeNf4());
            for (int a : new int[] {4, 8}) {
                for (int w : new int[] {4, 8}) {
                    c.add(new Capability.IntGemm(a, w, true));
                }
            }
        }
        return c;
    }
}
