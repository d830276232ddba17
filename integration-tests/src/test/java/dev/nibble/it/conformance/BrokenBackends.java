package dev.nibble.it.conformance;

import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.conformance.ForwardingKernelBackend;

/** Deliberately broken decorators over a real backend: the kit must fail each of them. */
final class BrokenBackends {
    private BrokenBackends() {
    }

    /** Recomputes quantize's codes rounding half away from zero (the backend's scales are kept). */
    static final class HalfAwayRounding extends ForwardingKernelBackend {
        HalfAwayRounding(KernelBackend delegate) {
            super(delegate);
        }

        @Override
        public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
            return recode(x, delegate.quantize(x, scheme));
        }

        @Override
        public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
            return recode(x, delegate.quantizeStatic(x, scheme, scale, zeroPoint));
        }

        private DeviceQuantized recode(DeviceTensor x, DeviceQuantized good) {
            QuantScheme s = good.scheme();
            if (s.format() != QuantScheme.Format.INT) {
                return good;
            }
            QuantizedTensor q = delegate.download(good);
            int rows = Math.toIntExact(q.shape().rows());
            int k = Math.toIntExact(q.shape().cols());
            float[] v = delegate.download(x).toFloatArray();
            float[] scales = q.scales().toFloatArray();
            int[] zeros = q.zeros() == null ? new int[scales.length] : q.zeros().toIntArray();
            byte[] bytes = new byte[s.codeType().isPacked() ? rows * ((k + 1) / 2) : rows * k];
            for (int i = 0; i < rows * k; i++) {
                int r = i / k;
                int c = i % k;
                int p = switch (s.granularity()) {
                    case PER_TENSOR -> 0;
                    case PER_CHANNEL, PER_TOKEN -> r;
                    case PER_GROUP -> r * s.scalesPerRow(k) + c / s.groupSize();
                };
                int code;
                if (scales[p] == 0f) {
                    code = zeros[p];
                } else {
                    float u = v[i] / scales[p];
                    double away = Math.signum(u) * Math.floor(Math.abs(u) + 0.5); // the bug: ties away from zero
                    code = (int) Math.max(s.qmin(), Math.min(s.qmax(), away + zeros[p]));
                }
                if (s.codeType().isPacked()) {
                    int at = r * ((k + 1) / 2) + c / 2;
                    bytes[at] |= (byte) ((code & 0xF) << (c % 2 == 0 ? 0 : 4));
                } else {
                    bytes[i] = (byte) code;
                }
            }
            QuantizedTensor bad = new QuantizedTensor(Tensor.ofBytes(s.codeType(), bytes, rows, k), q.scales(), q.zeros(), s);
            good.close();
            return delegate.upload(bad);
        }
    }

    /**
     * Packs 4-bit codes high nibble first: its quantize writes element 2i in the high nibble, and
     * its GEMMs and dequantize read codes that way.
     */
    static final class SwappedNibbles extends ForwardingKernelBackend {
        SwappedNibbles(KernelBackend delegate) {
            super(delegate);
        }

        private DeviceQuantized swap(DeviceQuantized q) {
            if (!q.codes().dtype().isPacked()) {
                return q;
            }
            QuantizedTensor h = delegate.download(q);
            byte[] b = h.codes().toByteArray();
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) ((b[i] & 0x0F) << 4 | (b[i] & 0xF0) >>> 4);
            }
            return delegate.upload(new QuantizedTensor(Tensor.ofBytes(h.codes().dtype(), b, h.codes().shape().dims()),
                    h.scales(), h.zeros(), h.scheme()));
        }

        @Override
        public DeviceQuantized quantize(DeviceTensor x, QuantScheme scheme) {
            return swap(delegate.quantize(x, scheme));
        }

        @Override
        public DeviceQuantized quantizeStatic(DeviceTensor x, QuantScheme scheme, float scale, int zeroPoint) {
            return swap(delegate.quantizeStatic(x, scheme, scale, zeroPoint));
        }

        @Override
        public DeviceTensor dequantize(DeviceQuantized q) {
            return delegate.dequantize(swap(q));
        }

        @Override
        public DeviceTensor gemmAccumulate(DeviceQuantized a, DeviceQuantized w) {
            return delegate.gemmAccumulate(swap(a), swap(w));
        }

        @Override
        public DeviceTensor gemmQuantized(DeviceQuantized a, DeviceQuantized w) {
            return delegate.gemmQuantized(swap(a), swap(w));
        }

        @Override
        public DeviceTensor gemmWeightOnly(DeviceTensor x, DeviceQuantized w) {
            return delegate.gemmWeightOnly(x, swap(w));
        }
    }
}
