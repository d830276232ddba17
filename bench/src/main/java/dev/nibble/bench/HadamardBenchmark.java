package dev.nibble.bench;

import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.numerics.Hadamard;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The grouped regular Hadamard rotation (ConvRot, blocks of 256) of an {@code [M, K]} activation on
 * the CPU backend, against a plain copy of the same bytes measured in the same run: a rotation
 * reads and writes every element once, so a copy is its bandwidth ceiling.
 * {@code rotate}: {@code backend.rotate} (allocates its output, as the fused path does);
 * {@code segmentCopy}: {@code MemorySegment.copy} into a preallocated native segment;
 * {@code arrayCopy}: {@code System.arraycopy} of a {@code float[]};
 * {@code reference}: the API's scalar {@code numerics.Hadamard} (for scale).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms1g", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class HadamardBenchmark {
    @Param({"4096"})
    public int m;

    @Param({"3072"})
    public int k;

    @Param({"256"})
    public int block;

    @Param({"cpu"})
    public String backend;

    private KernelBackend nibble;
    private DeviceTensor x;
    private Tensor host;
    private Rotation rotation;
    private MemorySegment src;
    private MemorySegment dst;
    private float[] srcArray;
    private float[] dstArray;
    private Arena arena;

    @Setup(Level.Trial)
    public void setUp() {
        float[] v = new GemmShape(m, k, 1).activations();
        host = Tensor.ofFloats(v, m, k);
        rotation = new Rotation.RegularHadamard(block);
        arena = Arena.ofShared();
        src = arena.allocate(4L * m * k, 64);
        dst = arena.allocate(4L * m * k, 64);
        MemorySegment.copy(host.data(), 0, src, 0, src.byteSize());
        srcArray = v;
        dstArray = new float[v.length];
    }

    private KernelBackend nibble() {
        if (nibble == null) {
            nibble = Backends.open(backend);
            x = nibble.upload(host);
        }
        return nibble;
    }

    @Benchmark
    public Object rotate() {
        try (DeviceTensor y = nibble().rotate(x, rotation)) {
            return y.shape();
        }
    }

    @Benchmark
    public Object segmentCopy() {
        MemorySegment.copy(src, 0, dst, 0, src.byteSize());
        return dst;
    }

    @Benchmark
    public Object arrayCopy() {
        System.arraycopy(srcArray, 0, dstArray, 0, srcArray.length);
        return dstArray;
    }

    @Benchmark
    public Object reference() {
        return Hadamard.rotate(host, rotation);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (nibble != null) {
            x.close();
            nibble.close();
        }
        arena.close();
    }
}
