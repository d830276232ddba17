package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;

/**
 * Quantized rows in the backend's working form: one code per byte (unpacked; U8 and UINT4/NF4
 * codes read as unsigned), float32 scales and int zero points laid out as the canonical
 * {@link dev.nibble.api.QuantizedTensor} lays them out.
 *
 * @param codes {@code rows × k} codes, one per byte
 * @param scales the scales ({@code [1]}, {@code [rows]} or {@code [rows, groups]})
 * @param zeros the zero points, same layout, or null for symmetric schemes
 * @param scheme the scheme
 * @param rows the number of rows
 * @param k the row length
 */
record Quantized(byte[] codes, float[] scales, int[] zeros, QuantScheme scheme, int rows, int k) {

    /** @return true when codes are read as unsigned bytes */
    boolean unsigned() {
        return !scheme.signed() || scheme.format() == QuantScheme.Format.NF4;
    }

    /** @return the code at a flat index, as an int */
    int code(int i) {
        return unsigned() ? codes[i] & 0xFF : codes[i];
    }

    /** @return the group size along K that scales follow (k for one scale per row or tensor) */
    int groupSize() {
        return scheme.granularity() == Granularity.PER_GROUP ? scheme.groupSize() : k;
    }

    /** @return scales per row (1 unless per group) */
    int scalesPerRow() {
        return scheme.granularity() == Granularity.PER_GROUP ? scheme.scalesPerRow(k) : 1;
    }

    /**
     * @param row a row
     * @param group the group index along K (ignored unless per group)
     * @return the index of the scale (and zero point) of that element
     */
    int paramIndex(int row, int group) {
        return switch (scheme.granularity()) {
            case PER_TENSOR -> 0;
            case PER_CHANNEL, PER_TOKEN -> row;
            case PER_GROUP -> row * scalesPerRow() + group;
        };
    }

    float scale(int row, int group) {
        return scales[paramIndex(row, group)];
    }

    int zero(int row, int group) {
        return zeros == null ? 0 : zeros[paramIndex(row, group)];
    }

    /** @return the largest |code - zero| the scheme can produce */
    int maxCentered() {
        if (scheme.symmetric()) {
            return Math.max(-scheme.qmin(), scheme.qmax());
        }
        return scheme.qmax() - scheme.qmin();
    }

    /** @return bytes held */
    long byteSize() {
        return codes.length + 4L * scales.length + (zeros == null ? 0 : 4L * zeros.length);
    }
}
