package dev.nibble.conformance;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.nibble.api.DType;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Bf16;
import dev.nibble.api.numerics.Int4Packing;
import org.apiguardian.api.API;

/**
 * Deliberately broken decorators over a real backend, the kit's proof that it bites: a conformant
 * backend wrapped in any of these must fail the kit. Backend authors can run them the same way
 * against their own backend.
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class Mutants {
    private Mutants() {
    }

    /**
     * @param backend a conformant backend
     * @return the backend with quantization rounding half away from zero instead of half to even
     */
    public static KernelBackend halfAwayRounding(KernelBackend backend) {
        return new HalfAwayRounding(backend);
    }

    /**
     * @param backend a conformant backend
     * @return the backend with its 4-bit nibble order swapped (element 2i in the high nibble)
     */
    public static KernelBackend swappedNibbles(KernelBackend backend) {
        return new SwappedNibbles(backend);
    }

    /**
     * @param backend a conformant backend
     * @return the backend with BF16 results of {@code PreparedLinear.forward} rounded half away from
     *     zero instead of half to even (it runs the F32 path on the widened x, then rounds)
     */
    public static KernelBackend bf16HalfAwayRounding(KernelBackend backend) {
        return new Bf16HalfAwayRounding(backend);
    }

    /** Rounds BF16 forward results half away from zero: right everywhere but on exact ties. */
    private static final class Bf16HalfAwayRounding extends ForwardingKernelBackend {
        Bf16HalfAwayRounding(KernelBackend delegate) {
            super(delegate);
        }

        @Override
        public PreparedLinear prepare(QuantizedLinear plan) {
            return ForwardingPreparedLinear.withForward(delegate.prepare(plan), (p, x, step) -> {
                if (x.dtype() != DType.BF16) {
                    return p.forward(x, step);
                }
                Tensor y;
                try (DeviceTensor wide = delegate.upload(delegate.download(x).to(DType.F32));
                        DeviceTensor y32 = p.forward(wide, step)) {
                    y = delegate.download(y32);
                }
                Tensor out = Tensor.allocate(DType.BF16, y.shape());
                for (long i = 0; i < y.elementCount(); i++) {
                    float v = y.getFloat(i);
                    int bits = Float.floatToRawIntBits(v);
                    short r = Float.isNaN(v) ? Bf16.round(v)
                            : (short) ((bits & 0x8000_0000) >>> 16 | ((bits & 0x7FFF_FFFF) + 0x8000) >>> 16);
                    out.data().setAtIndex(Tensor.I16_LE, i, r);
                }
                return delegate.upload(out);
            });
        }
    }

    /** Rounds half away from zero instead of half to even when it quantizes. */
    private static final class HalfAwayRounding extends ForwardingKernelBackend {
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

        /** Keeps the backend's scales and zero points, recomputes the codes with the wrong rounding. */
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
            int[] codes = new int[rows * k];
            for (int i = 0; i < codes.length; i++) {
                int r = i / k;
                int p = switch (s.granularity()) {
                    case PER_TENSOR -> 0;
                    case PER_CHANNEL, PER_TOKEN -> r;
                    case PER_GROUP -> r * s.scalesPerRow(k) + (i % k) / s.groupSize();
                };
                if (scales[p] == 0f) {
                    codes[i] = zeros[p];
                    continue;
                }
                float u = v[i] / scales[p];
                double away = Math.signum(u) * Math.floor(Math.abs(u) + 0.5);
                codes[i] = (int) Math.max(s.qmin(), Math.min(s.qmax(), away + zeros[p]));
            }
            byte[] bytes;
            if (s.codeType().isPacked()) {
                bytes = Int4Packing.pack(codes, rows, k);
            } else {
                bytes = new byte[codes.length];
                for (int i = 0; i < codes.length; i++) {
                    bytes[i] = (byte) codes[i];
                }
            }
            QuantizedTensor bad = new QuantizedTensor(Tensor.ofBytes(s.codeType(), bytes, rows, k), q.scales(), q.zeros(), s);
            good.close();
            return delegate.upload(bad);
        }
    }

    /**
     * Packs 4-bit codes high nibble first: its quantize writes element 2i in the high nibble and
     * its GEMMs read them back that way, so canonical codes are misread.
     */
    private static final class SwappedNibbles extends ForwardingKernelBackend {
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
            long[] dims = h.codes().shape().dims();
            return delegate.upload(new QuantizedTensor(Tensor.ofBytes(h.codes().dtype(), b, dims), h.scales(), h.zeros(), h.scheme()));
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
