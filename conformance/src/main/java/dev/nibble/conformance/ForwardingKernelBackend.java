package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.DType;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceInfo;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import java.util.Objects;
import org.apiguardian.api.API;

/**
 * A {@link KernelBackend} that forwards every call to another: override one method to instrument
 * a backend, or to break it on purpose and watch the kit catch it.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public class ForwardingKernelBackend implements KernelBackend {
    /** The backend calls go to. */
    protected final KernelBackend delegate;

    /** @param delegate the backend calls go to */
    public ForwardingKernelBackend(KernelBackend delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public DeviceInfo device() {
        return delegate.device();
    }

    @Override
    public DeviceTensor upload(Tensor host) {
        return delegate.upload(host);
    }

    @Override
    public Tensor download(DeviceTensor device) {
        return delegate.download(device);
    }

    @Override
    public DeviceTensor allocate(DType dtype, Shape shape) {
        return delegate.allocate(dtype, shape);
    }

    @Override
    public DeviceQuantized upload(QuantizedTensor q) {
        return delegate.upload(q);
    }

    @Override
    public QuantizedTensor download(DeviceQuantized q) {
        return delegate.download(q);
    }

    @Override
    public DeviceTensor rotate(DeviceTensor x, Rotation rotation) {
        return delegate.rotate(x, rotation);
    }

    @Override
    public DeviceTensor smooth(DeviceTensor x, DeviceTensor divisor) {
        return delegate.smooth(x, divisor);
    }

    @Override
    public DeviceTensor shift(DeviceTensor x, DeviceTensor offset) {
        return delegate.shift(x, offset);
    }

    @Override
    public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
        return delegate.quantize(x, scheme);
    }

    @Override
    public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
        return delegate.quantizeStatic(x, scheme, scale, zeroPoint);
    }

    @Override
    public DeviceTensor dequantize(DeviceQuantized q) {
        return delegate.dequantize(q);
    }

    @Override
    public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
        return delegate.gemmAccumulate(a, w);
    }

    @Override
    public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
        return delegate.gemmQuantized(a, w);
    }

    @Override
    public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
        return delegate.gemmWeightOnly(x, w);
    }

    @Override
    public DeviceTensor gemm(DeviceTensor x, DeviceTensor w) {
        return delegate.gemm(x, w);
    }

    @Override
    public DeviceTensor lowRank(DeviceTensor x, DeviceTensor down, DeviceTensor up) {
        return delegate.lowRank(x, down, up);
    }

    @Override
    public DeviceTensor add(DeviceTensor a, DeviceTensor b) {
        return delegate.add(a, b);
    }

    @Override
    public PreparedLinear prepare(QuantizedLinear plan) {
        return delegate.prepare(plan);
    }

    @Override
    public DeviceTensor layerNorm(DeviceTensor x, float eps) {
        return delegate.layerNorm(x, eps);
    }

    @Override
    public DeviceTensor gelu(DeviceTensor x) {
        return delegate.gelu(x);
    }

    @Override
    public DeviceTensor silu(DeviceTensor x) {
        return delegate.silu(x);
    }

    @Override
    public DeviceTensor softmax(DeviceTensor x) {
        return delegate.softmax(x);
    }

    @Override
    public DeviceTensor modulate(DeviceTensor x, DeviceTensor shift, DeviceTensor scale) {
        return delegate.modulate(x, shift, scale);
    }

    @Override
    public DeviceTensor gatedAdd(DeviceTensor residual, DeviceTensor gate, DeviceTensor y) {
        return delegate.gatedAdd(residual, gate, y);
    }

    @Override
    public DeviceTensor attention(DeviceTensor qkv, int heads) {
        return delegate.attention(qkv, heads);
    }

    @Override
    public void synchronize() {
        delegate.synchronize();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
