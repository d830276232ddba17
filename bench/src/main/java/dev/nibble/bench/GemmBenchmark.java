package dev.nibble.bench;

import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
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
 * {@code Y[M,N] = X[M,K]·W[N,K]ᵀ}: Nibble's CPU backend and the peers, every implementation on every
 * shape, one fresh JVM per (impl, m, kn) so each measures only its own state. Time per call in ms;
 * {@link Report} turns the JSON result into GOPS ({@code 2·M·N·K / t}) and ratios to {@code f32}.
 * Pick a subset with JMH's {@code -p impl=f32,w8a8 -p m=64 -p kn=1152x1152}; see bench/run.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms1g", "-Xmx6g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class GemmBenchmark {

    /**
     * Nibble: {@code f32} (backend.gemm, the baseline), {@code w8a8}/{@code w4a4}/{@code w4a4-g64}
     * (PreparedLinear.forward: dynamic per-token (or g64) activation quantization + integer GEMM +
     * dequantization), {@code w8a8-kernel}/{@code w4a4-kernel} (gemmQuantized on pre-quantized
     * activations), {@code w4a16-g64} (gemmWeightOnly: the weight is re-laid out on every call),
     * {@code w4a16-g64-prep}/{@code nf4-g64-prep} (PreparedLinear.forward with weight-only INT4 / NF4
     * group-64 weights prepared once, float activations). ONNX Runtime: {@code ort-f32} (MatMul),
     * {@code ort-w8a8-int} (MatMulInteger u8×s8→s32), {@code ort-nbits-a8}/{@code ort-nbits-f32}
     * (MatMulNBits 4-bit block 64, accuracy_level 4 / 0). Jlama: {@code jlama-f32},
     * {@code jlama-f32q4}, {@code jlama-i8q4}.
     */
    @Param({"f32", "w8a8", "w4a4", "w4a4-g64", "w8a8-kernel", "w4a4-kernel", "w4a16-g64",
            "w4a16-g64-prep", "nf4-g64-prep",
            "ort-f32", "ort-w8a8-int", "ort-nbits-a8", "ort-nbits-f32",
            "jlama-f32", "jlama-f32q4", "jlama-i8q4"})
    public String impl;

    /** Tokens. */
    @Param({"1", "64", "1024", "4096"})
    public int m;

    /** {@code KxN}: DiT-XL/2 (hidden 1152, MLP 4608) and FLUX.1 (hidden 3072, MLP 12288). */
    @Param({"1152x1152", "1152x4608", "3072x3072", "3072x12288"})
    public String kn;

    /** The Nibble backend to measure (provider or device id). */
    @Param({"cpu"})
    public String backend;

    private KernelBackend nibble;
    private GemmCase gemm;

    @Setup(Level.Trial)
    public void setUp() {
        GemmShape s = GemmShape.parse(m, kn);
        gemm = switch (impl) {
            case "ort-f32" -> OrtCases.matMulF32(s);
            case "ort-w8a8-int" -> OrtCases.matMulInteger(s);
            case "ort-nbits-a8" -> OrtCases.matMulNBits(s, 4);
            case "ort-nbits-f32" -> OrtCases.matMulNBits(s, 0);
            case "jlama-f32" -> JlamaCases.create(s, "f32", false);
            case "jlama-f32q4" -> JlamaCases.create(s, "q4", false);
            case "jlama-i8q4" -> JlamaCases.create(s, "q4", true);
            default -> nibbleCase(s);
        };
    }

    private GemmCase nibbleCase(GemmShape s) {
        nibble = Backends.open(backend);
        return switch (impl) {
            case "f32" -> NibbleCases.f32(nibble, s);
            case "w8a8" -> NibbleCases.fused(nibble, s, NibbleCases.W8, NibbleCases.A8);
            case "w4a4" -> NibbleCases.fused(nibble, s, NibbleCases.W4, NibbleCases.A4);
            case "w4a4-g64" -> NibbleCases.fused(nibble, s, NibbleCases.G64, NibbleCases.G64);
            case "w8a8-kernel" -> NibbleCases.kernel(nibble, s, NibbleCases.W8, NibbleCases.A8);
            case "w4a4-kernel" -> NibbleCases.kernel(nibble, s, NibbleCases.W4, NibbleCases.A4);
            case "w4a16-g64" -> NibbleCases.weightOnly(nibble, s, NibbleCases.G64);
            case "w4a16-g64-prep" -> NibbleCases.weightOnlyLayer(nibble, s, NibbleCases.G64);
            case "nf4-g64-prep" -> NibbleCases.weightOnlyLayer(nibble, s, NibbleCases.NF4);
            default -> throw new IllegalArgumentException("unknown impl '" + impl + "'");
        };
    }

    @Benchmark
    public Object gemm() {
        return gemm.run();
    }

    GemmCase gemmCase() {
        return gemm;
    }

    KernelBackend nibbleBackend() {
        return nibble;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        gemm.close();
        if (nibble != null) {
            nibble.close();
        }
    }
}
