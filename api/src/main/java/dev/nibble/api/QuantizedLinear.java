package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * The plan for one linear layer {@code y = x·Wᵀ + b}, the generalized ConvLinear4bit. Methods
 * produce plans; backends execute them. At run time, for input rows {@code x [M, K]}:
 * <ol>
 *   <li>{@code x_t = rotate(x / smooth + shift)} (each step only if present);</li>
 *   <li>{@code y = dequant(Q(x_t) · Q(W_t)ᵀ)} for a quantized weight with quantized activations,
 *       {@code y = x_t · dequant(W_t)ᵀ} for weight-only plans, {@code y = x_t · W_tᵀ} for dense
 *       plans;</li>
 *   <li>{@code y += (x_t · down) · upᵀ} if a low-rank branch is present;</li>
 *   <li>{@code y += bias}.</li>
 * </ol>
 * Exactly one of {@code weight} and {@code denseWeight} is set.
 *
 * @param name the layer's name in its model (e.g. {@code blocks.3.attn.qkv})
 * @param inFeatures K, the input width before rotation
 * @param outFeatures N
 * @param smooth F32 {@code [K]} divisor per input channel, or null
 * @param shift F32 {@code [K]} offset added after smoothing, or null
 * @param rotation the input rotation (identity if none)
 * @param weight the quantized transformed weight {@code [N, K']}, or null for a dense plan
 * @param denseWeight the floating-point transformed weight {@code [N, K']}, or null
 * @param activation how activations are quantized
 * @param lowRank the 16-bit low-rank branch, or null
 * @param bias F32 {@code [N]}, or null
 * @param metadata free-form facts about the plan (method, options), kept in checkpoints
 */
@API(status = STABLE, since = "0.1")
public record QuantizedLinear(String name, int inFeatures, int outFeatures, Tensor smooth, Tensor shift,
        Rotation rotation, QuantizedTensor weight, Tensor denseWeight, ActivationQuant activation,
        LowRank lowRank, Tensor bias, Map<String, String> metadata) {

    /**
     * Checks every part against the layer's shape.
     *
     * @throws IllegalArgumentException naming the layer and the part that does not fit
     */
    public QuantizedLinear {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(rotation, "rotation");
        Objects.requireNonNull(activation, "activation");
        metadata = Map.copyOf(metadata == null ? Map.of() : metadata);
        int kt = rotation.outputDim(inFeatures);
        if ((weight == null) == (denseWeight == null)) {
            throw fail(name, "exactly one of a quantized and a dense weight is needed");
        }
        Shape ws = weight != null ? weight.shape() : denseWeight.shape();
        if (ws.rank() != 2 || ws.dim(0) != outFeatures || ws.dim(1) != kt) {
            throw fail(name, "weight has shape " + ws + ", expected [" + outFeatures + ", " + kt + "]");
        }
        if (denseWeight != null && !denseWeight.dtype().isFloatingPoint()) {
            throw fail(name, "a dense weight must be floating point, got " + denseWeight.dtype());
        }
        if (denseWeight != null && !(activation instanceof ActivationQuant.None)) {
            throw fail(name, "a dense weight cannot be combined with quantized activations");
        }
        checkVector(name, "smooth", smooth, inFeatures);
        checkVector(name, "shift", shift, inFeatures);
        checkVector(name, "bias", bias, outFeatures);
        if (lowRank != null && (lowRank.down().shape().dim(0) != kt || lowRank.up().shape().dim(0) != outFeatures)) {
            throw fail(name, "low-rank factors " + lowRank.down().shape() + " / " + lowRank.up().shape()
                    + " do not fit K'=" + kt + ", N=" + outFeatures);
        }
    }

    private static void checkVector(String layer, String what, Tensor t, long n) {
        if (t != null && (t.dtype() != DType.F32 || t.elementCount() != n)) {
            throw fail(layer, what + " must be F32 with " + n + " elements, got " + t);
        }
    }

    private static IllegalArgumentException fail(String layer, String why) {
        return new IllegalArgumentException("layer '" + layer + "': " + why);
    }

    /** @return the width K' of the transformed input */
    public int transformedInFeatures() {
        return rotation.outputDim(inFeatures);
    }

    /** @return bytes of every stored tensor of the plan */
    public long byteSize() {
        long n = weight != null ? weight.byteSize() : denseWeight.data().byteSize();
        for (Tensor t : new Tensor[] {smooth, shift, bias}) {
            n += t == null ? 0 : t.data().byteSize();
        }
        if (lowRank != null) {
            n += lowRank.down().data().byteSize() + lowRank.up().data().byteSize();
        }
        return n;
    }

    /**
     * @param name the layer name
     * @param inFeatures K
     * @param outFeatures N
     * @return a builder with identity rotation and no activation quantization
     */
    public static Builder builder(String name, int inFeatures, int outFeatures) {
        return new Builder(name, inFeatures, outFeatures);
    }

    /** @return a builder holding this plan's parts */
    public Builder toBuilder() {
        Builder b = new Builder(name, inFeatures, outFeatures);
        b.smooth = smooth;
        b.shift = shift;
        b.rotation = rotation;
        b.weight = weight;
        b.denseWeight = denseWeight;
        b.activation = activation;
        b.lowRank = lowRank;
        b.bias = bias;
        b.metadata.putAll(metadata);
        return b;
    }

    /** Builds a {@link QuantizedLinear}. */
    @API(status = STABLE, since = "0.1")
    public static final class Builder {
        private final String name;
        private final int inFeatures;
        private final int outFeatures;
        private Tensor smooth;
        private Tensor shift;
        private Rotation rotation = new Rotation.Identity();
        private QuantizedTensor weight;
        private Tensor denseWeight;
        private ActivationQuant activation = new ActivationQuant.None();
        private LowRank lowRank;
        private Tensor bias;
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Builder(String name, int inFeatures, int outFeatures) {
            this.name = name;
            this.inFeatures = inFeatures;
            this.outFeatures = outFeatures;
        }

        /** @param t F32 [K] divisor, or null @return this */
        public Builder smooth(Tensor t) {
            this.smooth = t;
            return this;
        }

        /** @param t F32 [K] offset, or null @return this */
        public Builder shift(Tensor t) {
            this.shift = t;
            return this;
        }

        /** @param r the rotation @return this */
        public Builder rotation(Rotation r) {
            this.rotation = r;
            return this;
        }

        /** @param w quantized transformed weight [N, K'] @return this */
        public Builder weight(QuantizedTensor w) {
            this.weight = w;
            this.denseWeight = null;
            return this;
        }

        /** @param w floating-point transformed weight [N, K'] @return this */
        public Builder denseWeight(Tensor w) {
            this.denseWeight = w;
            this.weight = null;
            return this;
        }

        /** @param a activation quantization @return this */
        public Builder activation(ActivationQuant a) {
            this.activation = a;
            return this;
        }

        /** @param lr the low-rank branch, or null @return this */
        public Builder lowRank(LowRank lr) {
            this.lowRank = lr;
            return this;
        }

        /** @param b F32 [N] bias, or null @return this */
        public Builder bias(Tensor b) {
            this.bias = b;
            return this;
        }

        /** @param key a metadata key @param value its value @return this */
        public Builder meta(String key, String value) {
            this.metadata.put(key, value);
            return this;
        }

        /** @return the validated plan */
        public QuantizedLinear build() {
            return new QuantizedLinear(name, inFeatures, outFeatures, smooth, shift, rotation, weight, denseWeight,
                    activation, lowRank, bias, metadata);
        }
    }
}
