package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.DType;
import org.apiguardian.api.API;

/**
 * A typed capability of a backend device, e.g. "GEMM INT4×INT4 per-group with low-rank r ≤ 64".
 * Plans state what they need; selection picks a backend whose capabilities
 * {@linkplain #satisfies(Capability) satisfy} every need. Undeclared capabilities are reported as
 * unsupported by the conformance kit.
 */
@API(status = STABLE, since = "0.1")
public sealed interface Capability {

    /**
     * @param need a capability a plan requires
     * @return true if this offered capability covers it
     */
    default boolean satisfies(Capability need) {
        return equals(need);
    }

    /** @return a one-line human description */
    String describe();

    /** Kinds of rotation. */
    @API(status = STABLE, since = "0.1")
    enum RotationKind {
        /** ConvRot's grouped regular Hadamard. */
        REGULAR_HADAMARD,
        /** Sylvester/QuaRot Hadamard, global (with the special orders) or grouped. */
        SYLVESTER_HADAMARD,
        /** A dense orthogonal matrix. */
        DENSE
    }

    /** @param kind the rotation kind */
    @API(status = STABLE, since = "0.1")
    record Rotate(RotationKind kind) implements Capability {
        @Override
        public String describe() {
            return "rotate " + kind.name().toLowerCase().replace('_', ' ');
        }
    }

    /** Smoothing (per-channel divide) and shift (per-channel add) of activations. */
    @API(status = STABLE, since = "0.1")
    record SmoothShift() implements Capability {
        @Override
        public String describe() {
            return "smooth and shift activations";
        }
    }

    /**
     * Quantize and dequantize integer codes of the given width (symmetric and affine, every granularity).
     *
     * @param bits 4 or 8
     */
    @API(status = STABLE, since = "0.1")
    record Quantize(int bits) implements Capability {
        @Override
        public String describe() {
            return "quantize int" + bits + " (symmetric, affine; per tensor, token, channel, group)";
        }
    }

    /** NF4 quantization and dequantization. */
    @API(status = STABLE, since = "0.1")
    record QuantizeNf4() implements Capability {
        @Override
        public String describe() {
            return "quantize nf4";
        }
    }

    /**
     * Integer GEMM of activation codes × weight codes with exact int32 accumulation and
     * dequantization.
     *
     * @param activationBits 4 or 8
     * @param weightBits 4 or 8
     * @param grouped true if per-group scales are supported (per-row always is)
     */
    @API(status = STABLE, since = "0.1")
    record IntGemm(int activationBits, int weightBits, boolean grouped) implements Capability {
        @Override
        public boolean satisfies(Capability need) {
            return need instanceof IntGemm n && n.activationBits == activationBits && n.weightBits == weightBits
                    && (grouped || !n.grouped);
        }

        @Override
        public String describe() {
            return "GEMM INT" + activationBits + "xINT" + weightBits + (grouped ? " per-group" : " per-row");
        }
    }

    /**
     * GEMM of floating-point activations × low-bit weights (W4A16).
     *
     * @param weightType INT4, UINT4, I8 or NF4
     */
    @API(status = STABLE, since = "0.1")
    record WeightOnlyGemm(DType weightType) implements Capability {
        @Override
        public String describe() {
            return "GEMM float x " + weightType + " weights";
        }
    }

    /** F32 GEMM. */
    @API(status = STABLE, since = "0.1")
    record FloatGemm() implements Capability {
        @Override
        public String describe() {
            return "GEMM F32";
        }
    }

    /** @param maxRank the largest rank of the low-rank branch supported */
    @API(status = STABLE, since = "0.1")
    record LowRankBranch(int maxRank) implements Capability {
        @Override
        public boolean satisfies(Capability need) {
            return need instanceof LowRankBranch n && n.maxRank <= maxRank;
        }

        @Override
        public String describe() {
            return "low-rank branch r<=" + maxRank;
        }
    }

    /** The element-wise and row operations a DiT block needs (norm, activations, softmax, attention). */
    @API(status = STABLE, since = "0.1")
    record DitOps() implements Capability {
        @Override
        public String describe() {
            return "DiT ops (layer norm, GELU, SiLU, softmax, modulate, attention)";
        }
    }
}
