package dev.nibble.backend.cpu;

import dev.nibble.api.Granularity;
import dev.nibble.api.QuantScheme;

/**
 * Weight codes re-laid out once for the Vector API GEMMs: column blocks of {@code BW = 6·L}
 * output channels (L = float lanes), k-major inside a block so that a {@code k × BW} panel is
 * read sequentially. 8-bit codes take a byte each ({@code [block][k][BW]}); 4-bit codes stay
 * packed, two per byte ({@code [block][k][BW/2]}): within each group of 2L channels, byte i holds
 * channel i in the low nibble and channel L+i in the high one, so one byte vector unpacks into two
 * float vectors. Zero points and scales are expanded to {@code [block][wGroups][BW]} floats.
 * Channels past N are zero codes with zero scale and zero point.
 */
final class PackedWeight {
    final Quantized q;
    final int n;
    final int k;
    final int bw;
    final int blocks;
    final boolean four;
    final boolean unsigned;
    final int rowBytes;
    final byte[] codes;
    final float[] zeros;
    final float[] scales;
    final int wGroups;
    final int wGroupSize;

    PackedWeight(Quantized q, int lanes) {
        this.q = q;
        this.n = q.rows();
        this.k = q.k();
        this.bw = 6 * lanes;
        this.blocks = (n + bw - 1) / bw;
        this.four = q.scheme().bits() == 4;
        this.unsigned = q.unsigned();
        this.rowBytes = four ? bw / 2 : bw;
        this.codes = new byte[blocks * k * rowBytes];
        boolean grouped = q.scheme().granularity() == Granularity.PER_GROUP;
        this.wGroups = grouped ? q.scalesPerRow() : 1;
        this.wGroupSize = grouped ? q.scheme().groupSize() : Math.max(1, k);
        this.zeros = q.zeros() == null ? null : new float[blocks * wGroups * bw];
        this.scales = new float[blocks * wGroups * bw];
        for (int b = 0; b < blocks; b++) {
            for (int j = 0; j < bw; j++) {
                int ch = b * bw + j;
                if (ch >= n) {
                    continue;
                }
                for (int g = 0; g < wGroups; g++) {
                    scales[(b * wGroups + g) * bw + j] = q.scale(ch, g);
                    if (zeros != null) {
                        zeros[(b * wGroups + g) * bw + j] = q.zero(ch, g);
                    }
                }
                for (int t = 0; t < k; t++) {
                    byte c = q.codes()[ch * k + t];
                    int row = (b * k + t) * rowBytes;
                    if (four) {
                        int chunk = j / (2 * lanes);
                        int within = j % (2 * lanes);
                        int at = row + chunk * lanes + (within % lanes);
                        codes[at] = (byte) (within < lanes ? (codes[at] & 0xF0) | (c & 0x0F)
                                : (codes[at] & 0x0F) | ((c & 0x0F) << 4));
                    } else {
                        codes[row + j] = c;
                    }
                }
            }
        }
    }

    /** @return the weight's group index for an output group of the GEMM */
    int wGroup(int outputGroup, int outputGroupSize) {
        if (wGroups == 1) {
            return 0;
        }
        // output groups are the weight's groups whenever the weight is per group (equal sizes)
        return outputGroup * outputGroupSize / wGroupSize;
    }

    boolean nf4() {
        return q.scheme().format() == QuantScheme.Format.NF4;
    }

    long byteSize() {
        return codes.length + 4L * scales.length + (zeros == null ? 0 : 4L * zeros.length);
    }
}
