package dev.nibble.api.numerics;

import static org.apiguardian.api.API.Status.STABLE;

import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import org.apiguardian.api.API;

/**
 * The canonical scalar quantizer on the host, exactly as {@link QuantScheme} specifies. Methods use
 * it to quantize weights offline; backends produce bit-identical codes with their own kernels.
 */
@API(status = STABLE, since = "0.1")
public final class Quantizer {
    private Quantizer() {
    }

    /**
     * Quantizes rows with scales computed from the data.
     *
     * @param x F32/F16/BF16 {@code [..., K]}
     * @param scheme the scheme
     * @return the canonical quantized tensor with shape {@code [rows, K]}
     */
    public static QuantizedTensor quantize(Tensor x, QuantScheme scheme) {
        if (!x.dtype().isFloatingPoint()) {
            throw new InvalidInputException("quantize needs a floating-point tensor, got " + x);
        }
        int rows = Math.toIntExact(x.shape().rows());
        int k = Math.toIntExact(x.shape().cols());
        float[] v = x.toFloatArray();
        int spr = scheme.granularity() == Granularity.PER_TENSOR ? 1 : scheme.scalesPerRow(k);
        int nScales = scheme.granularity() == Granularity.PER_TENSOR ? 1 : rows * spr;
        float[] scales = new float[nScales];
        int[] zeros = new int[nScales];
        int[] codes = new int[rows * k];
        int g = scheme.granularity() == Granularity.PER_GROUP ? scheme.groupSize() : k;
        if (scheme.granularity() == Granularity.PER_TENSOR) {
            computeParams(v, 0, v.length, scheme, scales, zeros, 0);
        }
        for (int r = 0; r < rows; r++) {
            for (int s = 0; s < (scheme.granularity() == Granularity.PER_TENSOR ? 1 : spr); s++) {
                int from = r * k + s * g;
                int to = r * k + Math.min(k, (s + 1) * g);
                int si = scheme.granularity() == Granularity.PER_TENSOR ? 0 : r * spr + s;
                if (scheme.granularity() != Granularity.PER_TENSOR) {
                    computeParams(v, from, to, scheme, scales, zeros, si);
                }
                if (scheme.granularity() == Granularity.PER_TENSOR) {
                    from = r * k;
                    to = r * k + k;
                }
                for (int i = from; i < to; i++) {
                    codes[i] = code(v[i], scales[si], zeros[si], scheme);
                }
            }
        }
        return assemble(codes, scales, zeros, rows, k, scheme);
    }

    /**
     * Quantizes with a given per-tensor scale and zero point.
     *
     * @param x F32 {@code [..., K]}
     * @param scheme a per-tensor scheme
     * @param scale the scale
     * @param zeroPoint the zero point (0 for symmetric)
     * @return the quantized tensor
     */
    public static QuantizedTensor quantizeStatic(Tensor x, QuantScheme scheme, float scale, int zeroPoint) {
        if (scheme.granularity() != Granularity.PER_TENSOR) {
            throw new InvalidInputException("static quantization is per tensor, got " + scheme.describe());
        }
        int rows = Math.toIntExact(x.shape().rows());
        int k = Math.toIntExact(x.shape().cols());
        float[] v = x.toFloatArray();
        int[] codes = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            codes[i] = code(v[i], scale, zeroPoint, scheme);
        }
        return assemble(codes, new float[] {scale}, new int[] {zeroPoint}, rows, k, scheme);
    }

    /**
     * One code, per the scheme's numerics.
     *
     * @param x the value
     * @param scale the scale (0 gives the zero point)
     * @param zero the zero point
     * @param scheme the scheme
     * @return the code
     */
    public static int code(float x, float scale, int zero, QuantScheme scheme) {
        if (scheme.format() == QuantScheme.Format.NF4) {
            return scale == 0f ? Nf4.nearest(0f) : Nf4.nearest(x / scale);
        }
        if (scale == 0f) {
            return zero;
        }
        float q = (float) Math.rint(x / scale);
        int c = (int) Math.max(scheme.qmin(), Math.min(scheme.qmax(), q + zero));
        return c;
    }

    /**
     * Computes the scale and zero point of one row, group or tensor ({@code v[from, to)}).
     *
     * @param v values
     * @param from first index
     * @param to end index
     * @param scheme the scheme
     * @param scales receives the scale at {@code at}
     * @param zeros receives the zero point at {@code at}
     * @param at index into scales and zeros
     */
    public static void computeParams(float[] v, int from, int to, QuantScheme scheme, float[] scales, int[] zeros, int at) {
        if (scheme.symmetric()) {
            float absmax = 0f;
            for (int i = from; i < to; i++) {
                absmax = Math.max(absmax, Math.abs(v[i]));
            }
            scales[at] = scheme.format() == QuantScheme.Format.NF4
                    ? absmax * scheme.clipRatio()
                    : (absmax * scheme.clipRatio()) / scheme.symmetricDivisor();
            zeros[at] = 0;
        } else {
            float lo = 0f;
            float hi = 0f;
            for (int i = from; i < to; i++) {
                lo = Math.min(lo, v[i]);
                hi = Math.max(hi, v[i]);
            }
            lo *= scheme.clipRatio();
            hi *= scheme.clipRatio();
            float scale = (hi - lo) / (scheme.qmax() - scheme.qmin());
            scales[at] = scale;
            int zero = scale == 0f ? 0 : (int) (scheme.qmin() - (float) Math.rint(lo / scale));
            zeros[at] = Math.max(scheme.qmin(), Math.min(scheme.qmax(), zero));
        }
    }

    /**
     * @param q a quantized tensor
     * @return F32 values {@code (code - zero) · scale} (NF4: {@code value[code] · scale}), shape {@code [rows, K]}
     */
    public static Tensor dequantize(QuantizedTensor q) {
        int rows = Math.toIntExact(q.shape().rows());
        int k = Math.toIntExact(q.shape().cols());
        int[] codes = q.codes().toIntArray();
        float[] scales = q.scales().toFloatArray();
        int[] zeros = q.zeros() == null ? null : q.zeros().toIntArray();
        QuantScheme s = q.scheme();
        int spr = s.granularity() == Granularity.PER_TENSOR ? 0 : s.scalesPerRow(k);
        int g = s.granularity() == Granularity.PER_GROUP ? s.groupSize() : k;
        float[] out = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < k; c++) {
                int si = s.granularity() == Granularity.PER_TENSOR ? 0 : r * spr + c / g;
                int code = codes[r * k + c];
                out[r * k + c] = s.format() == QuantScheme.Format.NF4
                        ? Nf4.value(code) * scales[si]
                        : (code - (zeros == null ? 0 : zeros[si])) * scales[si];
            }
        }
        return Tensor.ofFloats(out, rows, k);
    }

    private static QuantizedTensor assemble(int[] codes, float[] scales, int[] zeros, int rows, int k, QuantScheme s) {
        Tensor codeTensor;
        DType ct = s.codeType();
        if (ct.isPacked()) {
            codeTensor = Tensor.ofBytes(ct, Int4Packing.pack(codes, rows, k), rows, k);
        } else {
            byte[] b = new byte[codes.length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) codes[i];
            }
            codeTensor = Tensor.ofBytes(ct, b, rows, k);
        }
        Shape ss = switch (s.granularity()) {
            case PER_TENSOR -> Shape.of(1);
            case PER_CHANNEL, PER_TOKEN -> Shape.of(rows);
            case PER_GROUP -> Shape.of(rows, s.scalesPerRow(k));
        };
        Tensor sc = Tensor.ofFloats(scales, ss.dims());
        Tensor ze = s.symmetric() ? null : Tensor.ofInts(zeros, ss.dims());
        return new QuantizedTensor(codeTensor, sc, ze, s);
    }
}
