package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Objects;
import org.apiguardian.api.API;

/**
 * SVDQuant's 16-bit low-rank branch: {@code y += (x_t · down) · upᵀ}, where {@code x_t} is the
 * transformed (smoothed, shifted, rotated) activation before quantization.
 *
 * @param down {@code [K', r]}, F16, BF16 or F32
 * @param up {@code [N, r]}, F16, BF16 or F32
 */
@API(status = STABLE, since = "0.1")
public record LowRank(Tensor down, Tensor up) {
    /** @throws IllegalArgumentException if the ranks differ or a type is not floating point */
    public LowRank {
        Objects.requireNonNull(down, "down");
        Objects.requireNonNull(up, "up");
        if (down.shape().rank() != 2 || up.shape().rank() != 2 || down.shape().dim(1) != up.shape().dim(1)) {
            throw new IllegalArgumentException("low-rank factors must be [K, r] and [N, r], got "
                    + down.shape() + " and " + up.shape());
        }
        if (!down.dtype().isFloatingPoint() || !up.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("low-rank factors must be floating point");
        }
    }

    /** @return the rank r */
    public int rank() {
        return Math.toIntExact(down.shape().dim(1));
    }
}
