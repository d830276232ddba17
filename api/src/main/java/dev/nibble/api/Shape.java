package dev.nibble.api;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Arrays;
import org.apiguardian.api.API;

/**
 * An immutable tensor shape, row-major. Kernels treat the last dimension as the reduction
 * dimension K and flatten the leading dimensions into rows.
 */
@API(status = STABLE, since = "0.1")
public final class Shape {
    private final long[] dims;

    private Shape(long[] dims) {
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    /**
     * @param dims the dimensions, outermost first
     * @return the shape
     * @throws IllegalArgumentException if a dimension is negative
     */
    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    /** @return the number of dimensions */
    public int rank() {
        return dims.length;
    }

    /**
     * @param i a dimension index; negative counts from the end (-1 is the last)
     * @return that dimension's size
     */
    public long dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    /** @return a copy of the dimensions */
    public long[] dims() {
        return dims.clone();
    }

    /** @return the product of all dimensions (1 for a scalar) */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return the size of the last dimension (1 for a scalar) */
    public long cols() {
        return dims.length == 0 ? 1 : dims[dims.length - 1];
    }

    /** @return the product of all but the last dimension */
    public long rows() {
        long n = 1;
        for (int i = 0; i < dims.length - 1; i++) {
            n = Math.multiplyExact(n, dims[i]);
        }
        return n;
    }

    /**
     * @param lastDim the new size of the last dimension
     * @return this shape with the last dimension replaced
     */
    public Shape withCols(long lastDim) {
        long[] d = dims.clone();
        d[d.length - 1] = lastDim;
        return new Shape(d);
    }

    /** @return the dimensions as an int array, for shapes whose dimensions fit an int */
    public int[] toIntArray() {
        int[] r = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            r[i] = Math.toIntExact(dims[i]);
        }
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
