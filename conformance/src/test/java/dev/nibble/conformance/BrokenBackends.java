package dev.nibble.conformance;

import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.numerics.Int4Packing;

/** Deliberately broken decorators: the kit must fail each of them. */
final class BrokenBackends {
    private BrokenBackends() {
    }

    /** Its fused path is off by a relative 1e-3 (say, a scale rounded to bf16): small, but far outside tolerance. */
    static final class SlightlyWrongForward extends ForwardingKernelBackend {
        SlightlyWrongForward(KernelBackend delegate) {
            super(delegate);
        }

        @Override
        public PreparedLinear prepare(QuantizedLinear plan) {
            return ForwardingPreparedLinear.withForward(delegate.prepare(plan), (p, x, step) -> {
                DeviceTensor y = p.forward(x, step);
                Tensor h = delegate.download(y);
                y.close();
                for (long i = 0; i < h.elementCount(); i++) {
                    h.setFloat(i, h.getFloat(i) * 1.001f);
                }
                return delegate.upload(h);
            });
        }
    }

    /** A pooling scalar backend whose GELU writes every element but the last into recycled memory. */
    static final class ForgetfulPooledGelu extends ScalarBackend {
        ForgetfulPooledGelu() {
            pooling();
        }

        @Override
        public DeviceTensor gelu(DeviceTensor x) {
            Tensor v = download(super.gelu(x));
            Host out = fresh(v.dtype(), v.shape());
            for (long i = 0; i < v.elementCount() - 1; i++) {
                out.t().setFloat(i, v.getFloat(i));
            }
            return out;
        }
    }

    /** Its GELU leaves the last element of every result unwritten (whatever the memory held). */
    static final class UnwrittenLastElement extends ForwardingKernelBackend {
        UnwrittenLastElement(KernelBackend delegate) {
            super(delegate);
        }

        @Override
        public DeviceTensor gelu(DeviceTensor x) {
            DeviceTensor y = delegate.gelu(x);
            Tensor h = delegate.download(y);
            y.close();
            h.setFloat(h.elementCount() - 1, 0f);
            return delegate.upload(h);
        }
    }
}
