package dev.nibble.api.backend;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.DType;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * An open device: memory transfer, the primitive operations the conformance kit tests one by one,
 * and {@link #prepare(QuantizedLinear)} for the fused path. The exact semantics of every operation
 * are in docs/kernels.md; the numerics are those of {@link QuantScheme}.
 *
 * <p>Conventions: activations are F32 {@code [..., K]} (leading dimensions flattened into M rows);
 * weights are {@code [N, K]} (output channels × input); GEMMs compute {@code x·wᵀ}. Every
 * operation returns a new tensor that the caller closes. An operation the backend does not declare
 * throws {@link UnsupportedCapabilityException}; a shape or type that does not fit throws
 * {@link dev.nibble.api.InvalidInputException} naming the argument.
 *
 * <p>Implementations are thread-safe: several threads may run operations at once. They are
 * deterministic: the same inputs on the same device give bit-identical outputs, whichever thread
 * runs them, in this run or the next JVM (docs/reliability.md shows the checks).
 */
@API(status = STABLE, since = "0.1")
public interface KernelBackend extends AutoCloseable {

    /** @return the device this backend runs on */
    DeviceInfo device();

    /** @return the device id, e.g. {@code cpu} or {@code cuda:0} */
    default String id() {
        return device().id();
    }

    /** @return the capabilities of this device */
    default Set<Capability> capabilities() {
        return device().capabilities();
    }

    /**
     * @param need a capability
     * @return true if the device offers it
     */
    default boolean supports(Capability need) {
        return device().supports(need);
    }

    // ---- memory ----

    /**
     * @param host a host tensor
     * @return a device copy
     */
    DeviceTensor upload(Tensor host);

    /**
     * @param device a tensor of this backend
     * @return a host copy in GC-managed memory
     */
    Tensor download(DeviceTensor device);

    /**
     * @param dtype element type
     * @param shape logical shape
     * @return uninitialized device storage
     */
    DeviceTensor allocate(DType dtype, Shape shape);

    /**
     * @param q a host quantized tensor
     * @return its parts on the device
     */
    default DeviceQuantized upload(QuantizedTensor q) {
        return new DeviceQuantized(upload(q.codes()), upload(q.scales()),
                q.zeros() == null ? null : upload(q.zeros()), q.scheme());
    }

    /**
     * @param q a quantized tensor of this backend
     * @return a host copy in canonical form
     */
    default QuantizedTensor download(DeviceQuantized q) {
        return new QuantizedTensor(download(q.codes()), download(q.scales()),
                q.zeros() == null ? null : download(q.zeros()), q.scheme());
    }

    // ---- input transforms ----

    /**
     * Applies a rotation to every row: {@code y = x·R}. Grouped rotations zero-pad K up to
     * {@code rotation.outputDim(K)}. Folding into weights is the same call on {@code W [N, K]}.
     *
     * @param x F32 {@code [..., K]}
     * @param rotation the rotation
     * @return F32 {@code [..., K']}
     */
    DeviceTensor rotate(DeviceTensor x, Rotation rotation);

    /**
     * @param x F32 {@code [..., K]}
     * @param divisor F32 {@code [K]}
     * @return {@code x[:, j] / divisor[j]} (IEEE float32 division)
     */
    DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor);

    /**
     * @param x F32 {@code [..., K]}
     * @param offset F32 {@code [K]}
     * @return {@code x[:, j] + offset[j]}
     */
    DeviceTensor shift(DeviceTensor x, DeviceTensor offset);

    // ---- quantization ----

    /**
     * Quantizes rows with scales computed from the data (activations, or weights offline).
     * Codes are bit-identical on every conformant backend.
     *
     * @param x F32 {@code [..., K]}
     * @param scheme the scheme (its {@code dynamic} flag is ignored here: scales come from x)
     * @return codes, scales and zero points
     */
    DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme);

    /**
     * Quantizes with a given per-tensor scale and zero point (static activation quantization).
     *
     * @param x F32 {@code [..., K]}
     * @param scheme a per-tensor scheme
     * @param scale the scale
     * @param zeroPoint the zero point (0 for symmetric schemes)
     * @return codes with the given scale
     */
    DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint);

    /**
     * @param q quantized tensor
     * @return F32 {@code (code - zero) * scale}, or {@code nf4[code] * scale}
     */
    DeviceTensor dequantize(DeviceQuantized q);

    // ---- GEMMs ----

    /**
     * The exact integer part of a quantized GEMM: {@code acc = Σ_k (a - za)(w - zw)} in int32.
     *
     * @param a activation codes {@code [M, K]}
     * @param w weight codes {@code [N, K]}
     * @return I32 {@code [M, N]}, or {@code [G, M, N]} when either operand is per-group (both then
     *     share the group size; G = ceil(K / g))
     */
    DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w);

    /**
     * Quantized GEMM with dequantization: per row {@code y = acc · sa[m] · sw[n]}; per group
     * {@code y = Σ_g acc_g · sa[m,g] · sw[n,g]}.
     *
     * @param a activation codes {@code [M, K]}
     * @param w weight codes {@code [N, K]}
     * @return F32 {@code [M, N]}
     */
    DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w);

    /**
     * Floating-point activations times low-bit weights (W4A16, NF4), dequantized on the fly.
     *
     * @param x F32 {@code [M, K]}
     * @param w weight codes {@code [N, K]}
     * @return F32 {@code [M, N]}
     */
    DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w);

    /**
     * @param x F32 {@code [M, K]}
     * @param w F32, F16 or BF16 {@code [N, K]}
     * @return F32 {@code [M, N]} = {@code x·wᵀ}
     */
    DeviceTensor gemm(DeviceTensor x, DeviceTensor w);

    /**
     * The low-rank branch: {@code (x·down)·upᵀ}.
     *
     * @param x F32 {@code [M, K]}
     * @param down {@code [K, r]} (F32, F16 or BF16)
     * @param up {@code [N, r]} (F32, F16 or BF16)
     * @return F32 {@code [M, N]}
     */
    DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up);

    /**
     * @param a F32 {@code [..., N]}
     * @param b F32 of the same shape, or {@code [N]} (broadcast over rows, e.g. a bias)
     * @return {@code a + b}
     */
    DeviceTensor add(DeviceTensor a, DeviceTensor b);

    // ---- the fused path ----

    /**
     * Makes a plan resident on the device and ready for {@link PreparedLinear#forward} (F32 or
     * BF16 activations).
     *
     * @param plan a layer plan
     * @return the prepared layer, to be closed by the caller
     * @throws UnsupportedCapabilityException if the plan needs what the device lacks
     */
    PreparedLinear prepare(QuantizedLinear plan);

    // ---- DiT operations ----

    /**
     * @param x F32 {@code [..., D]}
     * @param eps added to the variance
     * @return each row normalized to zero mean and unit variance (no affine parameters)
     */
    DeviceTensor layerNorm(DeviceTensor x, float eps);

    /**
     * @param x F32
     * @return GELU with the tanh approximation: {@code 0.5x(1 + tanh(sqrt(2/π)(x + 0.044715x³)))}
     */
    DeviceTensor gelu(DeviceTensor x);

    /**
     * @param x F32
     * @return {@code x · sigmoid(x)}
     */
    DeviceTensor silu(DeviceTensor x);

    /**
     * @param x F32 {@code [..., D]}
     * @return softmax of each row (max-subtracted)
     */
    DeviceTensor softmax(DeviceTensor x);

    /**
     * adaLN modulation.
     *
     * @param x F32 {@code [B, T, D]}
     * @param shift F32 {@code [B, D]}
     * @param scale F32 {@code [B, D]}
     * @return {@code x · (1 + scale[b]) + shift[b]}
     */
    DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale);

    /**
     * adaLN-Zero gated residual.
     *
     * @param residual F32 {@code [B, T, D]}
     * @param gate F32 {@code [B, D]}
     * @param y F32 {@code [B, T, D]}
     * @return {@code residual + gate[b] · y}
     */
    DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y);

    /**
     * Multi-head self-attention on a fused projection, in the DiT layout: the last dimension of
     * {@code qkv} is {@code (3, heads, headDim)}; per batch and head,
     * {@code softmax(q·kᵀ / sqrt(headDim))·v}, heads concatenated.
     *
     * @param qkv F32 {@code [B, T, 3·D]}
     * @param heads number of heads (divides D)
     * @return F32 {@code [B, T, D]}
     */
    DeviceTensor attention(DeviceTensor qkv, int heads);

    /**
     * Waits until every operation issued so far has finished. Operations may run asynchronously
     * (GPU backends return once work is queued; a download always waits for it): timing code calls
     * this before it reads the clock. Synchronous backends need not override it.
     */
    default void synchronize() {
    }

    /** Releases every resource of this backend; tensors it created become invalid. Idempotent. */
    @Override
    void close();
}
