package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * How real values map to low-bit codes. The numerics are shared by every backend (see
 * docs/kernels.md) so that integer codes are bit-identical across hardware:
 * <ul>
 *   <li>symmetric: {@code scale = (absmax * clipRatio) / qmaxSym} in float32, where
 *       {@code qmaxSym} is {@code 2^(bits-1) - 1} for signed codes and {@code 2^bits - 1} for
 *       unsigned ones; {@code code = clamp(rint(x / scale), qmin, qmax)};</li>
 *   <li>affine: {@code lo = min(min, 0) * clipRatio}, {@code hi = max(max, 0) * clipRatio},
 *       {@code scale = (hi - lo) / (qmax - qmin)}, {@code zero = clamp(qmin - rint(lo / scale), qmin, qmax)},
 *       {@code code = clamp(rint(x / scale) + zero, qmin, qmax)};</li>
 *   <li>rounding is half to even; division is IEEE float32 division; a zero scale (an all-zero
 *       row or group) gives code {@code zero} (0 when symmetric) and dequantizes to 0;</li>
 *   <li>NF4: {@code scale = absmax} per group, code = index of the nearest
 *       {@link dev.nibble.api.numerics.Nf4} value to {@code x / scale} (ties to the lower index).</li>
 * </ul>
 *
 * @param format integer codes or the NF4 code book
 * @param bits code width: 4 or 8 (NF4: 4)
 * @param signed signed codes ({@code [-2^(b-1), 2^(b-1)-1]}) or unsigned ({@code [0, 2^b - 1]})
 * @param symmetric symmetric around zero (no zero point) or affine (with zero point)
 * @param granularity which elements share a scale
 * @param groupSize group length along K for {@link Granularity#PER_GROUP}, else 0
 * @param narrowRange signed symmetric codes in {@code [-qmax, qmax]} (e.g. [-7, 7]) instead of
 *     the full two's complement range (e.g. [-8, 7])
 * @param clipRatio factor in (0, 1] applied to the observed range before the scale is computed
 * @param dynamic scales computed from the data at run time (activations), or given (static)
 */
@API(status = STABLE, since = "0.1")
public record QuantScheme(Format format, int bits, boolean signed, boolean symmetric,
        Granularity granularity, int groupSize, boolean narrowRange, float clipRatio, boolean dynamic) {

    /** The code set of a scheme. */
    @API(status = STABLE, since = "0.1")
    public enum Format {
        /** Uniform integer codes. */
        INT,
        /** The 16 NormalFloat-4 code values of QLoRA, scaled by the group's absmax. */
        NF4
    }

    /**
     * Validates the components.
     *
     * @throws IllegalArgumentException if a combination is not meaningful
     */
    public QuantScheme {
        if (format == null || granularity == null) {
            throw new IllegalArgumentException("format and granularity are required");
        }
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        }
        if (format == Format.NF4 && (bits != 4 || !symmetric || granularity != Granularity.PER_GROUP)) {
            throw new IllegalArgumentException("NF4 is 4-bit, symmetric and per group");
        }
        if (granularity == Granularity.PER_GROUP ? groupSize <= 0 : groupSize != 0) {
            throw new IllegalArgumentException("groupSize must be > 0 exactly when granularity is PER_GROUP, got "
                    + groupSize + " with " + granularity);
        }
        if (!(clipRatio > 0f && clipRatio <= 1f)) {
            throw new IllegalArgumentException("clipRatio must be in (0, 1], got " + clipRatio);
        }
        if (narrowRange && (!signed || !symmetric)) {
            throw new IllegalArgumentException("narrowRange applies to signed symmetric codes only");
        }
    }

    /**
     * @param bits 4 or 8
     * @param granularity who shares a scale
     * @return signed symmetric integer codes over the full range ([-8, 7] for 4 bits), dynamic
     */
    public static QuantScheme symmetric(int bits, Granularity granularity) {
        return new QuantScheme(Format.INT, bits, true, true, granularity, 0, false, 1f, true);
    }

    /**
     * @param bits 4 or 8
     * @param groupSize elements per group along K
     * @return signed symmetric integer codes per (row, group), dynamic
     */
    public static QuantScheme symmetricGroup(int bits, int groupSize) {
        return new QuantScheme(Format.INT, bits, true, true, Granularity.PER_GROUP, groupSize, false, 1f, true);
    }

    /**
     * @param bits 4 or 8
     * @param granularity who shares a scale and zero point
     * @param groupSize elements per group for PER_GROUP, else 0
     * @return unsigned affine integer codes ([0, 15] for 4 bits), dynamic
     */
    public static QuantScheme affine(int bits, Granularity granularity, int groupSize) {
        return new QuantScheme(Format.INT, bits, false, false, granularity, groupSize, false, 1f, true);
    }

    /**
     * @param blockSize elements per block along K (64 in bitsandbytes)
     * @return NF4 codes with an absmax scale per block
     */
    public static QuantScheme nf4(int blockSize) {
        return new QuantScheme(Format.NF4, 4, false, true, Granularity.PER_GROUP, blockSize, false, 1f, false);
    }

    /** @return this scheme with codes in [-qmax, qmax] */
    public QuantScheme withNarrowRange() {
        return new QuantScheme(format, bits, signed, symmetric, granularity, groupSize, true, clipRatio, dynamic);
    }

    /**
     * @param ratio factor in (0, 1]
     * @return this scheme with the range clipped by {@code ratio}
     */
    public QuantScheme withClipRatio(float ratio) {
        return new QuantScheme(format, bits, signed, symmetric, granularity, groupSize, narrowRange, ratio, dynamic);
    }

    /** @return this scheme with scales given ahead of time (static) */
    public QuantScheme asStatic() {
        return new QuantScheme(format, bits, signed, symmetric, granularity, groupSize, narrowRange, clipRatio, false);
    }

    /** @return the smallest code */
    public int qmin() {
        if (!signed || format == Format.NF4) {
            return 0;
        }
        int q = 1 << (bits - 1);
        return narrowRange ? -(q - 1) : -q;
    }

    /** @return the largest code */
    public int qmax() {
        if (format == Format.NF4) {
            return 15;
        }
        return signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    }

    /** @return the divisor of absmax for symmetric schemes ({@code qmax}) */
    public int symmetricDivisor() {
        return qmax();
    }

    /** @return the dtype that holds the codes */
    public DType codeType() {
        if (format == Format.NF4) {
            return DType.NF4;
        }
        if (bits == 4) {
            return signed ? DType.INT4 : DType.UINT4;
        }
        return signed ? DType.I8 : DType.U8;
    }

    /**
     * @param k the length of a row
     * @return the number of scales per row: 1, or {@code ceil(k / groupSize)} for groups
     */
    public int scalesPerRow(long k) {
        return granularity == Granularity.PER_GROUP ? Math.toIntExact((k + groupSize - 1) / groupSize) : 1;
    }

    /** @return a short name such as {@code int4-sym-per_token-dyn} or {@code int4-asym-g64} */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append(format == Format.NF4 ? "nf4" : (signed ? "int" : "uint") + bits);
        if (format == Format.INT) {
            b.append(symmetric ? "-sym" : "-asym");
        }
        b.append(granularity == Granularity.PER_GROUP ? "-g" + groupSize : "-" + granularity.name().toLowerCase());
        if (narrowRange) {
            b.append("-narrow");
        }
        if (clipRatio != 1f) {
            b.append("-clip").append(clipRatio);
        }
        b.append(dynamic ? "-dyn" : "-static");
        return b.toString();
    }
}
