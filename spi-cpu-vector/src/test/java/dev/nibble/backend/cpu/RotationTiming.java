package dev.nibble.backend.cpu;

import dev.nibble.api.Rotation;
import dev.nibble.api.numerics.Hadamard;
import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;

/**
 * Timing main for the grouped regular Hadamard (not a test): the previous kernel (copy, scalar
 * strides 1 and 4, vector strides, scale) against the backend's {@code rotate}, with a plain
 * {@code System.arraycopy} of the same bytes as the bandwidth peer, interleaved rounds, medians.
 * The new output is checked bit for bit against {@link Hadamard}.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp <api.jar>:spi-cpu-vector/target/classes:
 * spi-cpu-vector/target/test-classes dev.nibble.backend.cpu.RotationTiming [M K block rounds threads]}.
 */
public final class RotationTiming {
    private RotationTiming() {
    }

    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int block = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : Runtime.getRuntime().availableProcessors();
        Random r = new Random(1);
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Rotation rotation = new Rotation.RegularHadamard(block);
        try (WorkerPool pool = new WorkerPool(threads)) {
            VectorKernels kernels = new VectorKernels(pool);
            float[] want = Hadamard.rotateRows(x, m, k, rotation);
            float[] got = kernels.rotate(x, m, k, rotation);
            if (!Arrays.equals(want, got)) {
                throw new AssertionError("new rotate differs from Hadamard");
            }
            if (!Arrays.equals(want, oldRotate(pool, x, m, k, block))) {
                throw new AssertionError("old rotate differs from Hadamard");
            }
            float[] dst = new float[x.length];
            long[][] t = new long[5][rounds];
            float[] reuse = new float[x.length];
            for (int i = 0; i < 5; i++) {
                oldRotate(pool, x, m, k, block);
                kernels.rotate(x, m, k, rotation);
            }
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                oldRotate(pool, x, m, k, block);
                long t1 = System.nanoTime();
                kernels.rotate(x, m, k, rotation);
                long t2 = System.nanoTime();
                System.arraycopy(x, 0, dst, 0, x.length);
                long t3 = System.nanoTime();
                long t4 = System.nanoTime();
                for (int o = 0; o < x.length; o += 256) {
                    VectorRotations.regularBlockInto(x, o, reuse, o, 256);
                }
                long t5 = System.nanoTime();
                t[3][i] = t4 - t3;
                t[4][i] = t5 - t4;
                t[0][i] = t1 - t0;
                t[1][i] = t2 - t1;
                t[2][i] = t3 - t2;
            }
            double old = median(t[0]);
            double now = median(t[1]);
            double copy = median(t[2]);
            System.out.printf("M=%d K=%d block=%d threads=%d rounds=%d (medians)%n", m, k, block, threads, rounds);
            System.out.printf("old rotate %.2f ms  new rotate %.2f ms  arraycopy %.2f ms%n", old, now, copy);
            System.out.printf("new kernel, 1 thread, into a reused array (no allocation) %.2f ms%n", median(t[4]));
            System.out.printf("speedup %.2fx; copy/rotate: old %.0f%%, new %.0f%%%n", old / now, 100 * copy / old,
                    100 * copy / now);
        }
    }

    static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    /** The kernel before cpuperf: copy each row, stages with scalar strides below one vector, scale. */
    static float[] oldRotate(WorkerPool pool, float[] x, int rows, int k, int n) {
        float[] out = new float[rows * k];
        int chunk = Math.max(1, 8192 / k);
        pool.forEach((rows + chunk - 1) / chunk, t -> {
            for (int r = t * chunk; r < Math.min(rows, (t + 1) * chunk); r++) {
                System.arraycopy(x, r * k, out, r * k, k);
                for (int b = 0; b < k; b += n) {
                    oldBlock(out, r * k + b, n);
                }
            }
        });
        return out;
    }

    static void oldBlock(float[] v, int off, int n) {
        int l = VectorRotations.L;
        for (int s = 1; s < n; s *= 4) {
            for (int base = 0; base < n; base += 4 * s) {
                int j = base;
                if (s >= l) {
                    for (; j < base + s; j += l) {
                        int i0 = off + j;
                        FloatVector a = FloatVector.fromArray(VectorRotations.F, v, i0);
                        FloatVector b = FloatVector.fromArray(VectorRotations.F, v, i0 + s);
                        FloatVector c = FloatVector.fromArray(VectorRotations.F, v, i0 + 2 * s);
                        FloatVector d = FloatVector.fromArray(VectorRotations.F, v, i0 + 3 * s);
                        FloatVector apb = a.add(b);
                        FloatVector amb = a.sub(b);
                        FloatVector cpd = c.add(d);
                        FloatVector cmd = c.sub(d);
                        apb.add(cmd).intoArray(v, i0);
                        apb.sub(cmd).intoArray(v, i0 + s);
                        amb.add(cpd).intoArray(v, i0 + 2 * s);
                        cpd.sub(amb).intoArray(v, i0 + 3 * s);
                    }
                }
                for (; j < base + s; j++) {
                    int i0 = off + j;
                    float a = v[i0];
                    float b = v[i0 + s];
                    float c = v[i0 + 2 * s];
                    float d = v[i0 + 3 * s];
                    float apb = a + b;
                    float amb = a - b;
                    float cpd = c + d;
                    float cmd = c - d;
                    v[i0] = apb + cmd;
                    v[i0 + s] = apb - cmd;
                    v[i0 + 2 * s] = amb + cpd;
                    v[i0 + 3 * s] = cpd - amb;
                }
            }
        }
        VectorRotations.scale(v, off, n, 1f / (1 << (Integer.numberOfTrailingZeros(n) / 2)));
    }
}
