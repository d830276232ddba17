package dev.nibble.cli;

import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Granularity;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.LowRank;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceQuantized;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import dev.nibble.api.numerics.Hadamard;
import dev.nibble.api.numerics.Quantizer;
import dev.nibble.model.checkpoint.QuantizedCheckpoint;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code nibble op}: one operation of the backend contract on tensors from a file, so two machines can be compared. */
@Command(name = "op", mixinStandardHelpOptions = true,
        description = {"Apply one backend operation to tensors from a safetensors file and",
            "write the result, so two machines or backends can be compared.",
            "Tensors read (rename with --input-name ROLE=NAME):",
            "  rotate      x [M,K] F32 -> y [M,K'] (--rotation)",
            "  quantize    x [M,K] F32 -> codes, scales, zeros (affine schemes only)",
            "  dequantize  codes, scales, zeros -> y F32; the scheme from the options,",
            "              else from metadata nibble.scheme (as quantize writes it)",
            "  gemm        x [M,K], w [N,K] -> y [M,N] = x.w^T; each operand F32 or",
            "              quantized parts x.codes/x.scales/x.zeros, w.codes/...",
            "              (schemes: options, else nibble.scheme.x / nibble.scheme.w);",
            "              --accumulate writes the exact I32 accumulator",
            "  linear      x [M,K] and w [N,K] F32 (quantized on the host with the",
            "              options) or w.codes/...; optional bias [N], down [K',r],",
            "              up [N,r]; or --checkpoint FILE --layer NAME -> y [M,N]",
            "The output's __metadata__ records nibble.op, nibble.backend, nibble.device",
            "and the scheme and rotation used."})
final class OpCommand implements Callable<Integer> {
    static final List<String> OPS = List.of("rotate", "quantize", "dequantize", "gemm", "linear");

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OP", description = "rotate, quantize, dequantize, gemm or linear.")
    String op;

    @Option(names = "--in", required = true, description = "safetensors file with the input tensors.")
    Path in;

    @Option(names = "--out", required = true, description = "Where to write the result (safetensors).")
    Path out;

    @Option(names = "--backend", description = "Backend id (cpu, opencl:0:0, cuda:0); default: automatic.")
    String backend;

    @Option(names = "--input-name", paramLabel = "ROLE=NAME",
            description = "Read role (x, w, codes, scales, zeros, bias, down, up) from tensor NAME; a bare NAME renames x.")
    List<String> inputNames;

    @Option(names = "--rotation", defaultValue = "identity",
            description = "identity, regular:N, sylvester:N or sylvester:global (default identity).")
    String rotation;

    @Option(names = "--bits", description = "4 or 8 (default 8).")
    Integer bits;

    @Option(names = "--granularity", description = "tensor, token, channel or group (default token; channel for linear weights).")
    String granularity;

    @Option(names = "--group-size", description = "Group size for --granularity group (default 64).")
    Integer groupSize;

    @Option(names = "--affine", description = "Unsigned codes with zero points (default symmetric signed).")
    boolean affine;

    @Option(names = "--narrow", description = "Symmetric codes in [-(2^(b-1)-1), 2^(b-1)-1].")
    boolean narrow;

    @Option(names = "--nf4", description = "NF4 codes (4-bit, per group).")
    boolean nf4;

    @Option(names = "--clip", description = "Clip ratio in (0, 1] (default 1).")
    Float clip;

    @Option(names = "--accumulate", description = "gemm on quantized inputs: write the exact I32 accumulator.")
    boolean accumulate;

    @Option(names = "--act-bits", defaultValue = "0", description = "linear: quantize activations dynamically to 4 or 8 bits (0: off).")
    int actBits;

    @Option(names = "--checkpoint", description = "linear: a quantized checkpoint holding the layer.")
    Path checkpoint;

    @Option(names = "--layer", description = "linear: the layer of --checkpoint to run.")
    String layer;

    @Override
    public Integer call() {
        if (!OPS.contains(op)) {
            throw new InvalidInputException("unknown op '" + op + "': expected one of " + String.join(", ", OPS));
        }
        CliSupport.existing(in, "--in");
        CliSupport.output(out, "--out");
        Rotation rot = OpSpecs.rotation(rotation);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("nibble.op", op);
        try (SafetensorsFile f = SafetensorsFile.open(in); KernelBackend be = CliSupport.backend(backend)) {
            OpInputs inputs = new OpInputs(f, inputNames);
            meta.put("nibble.backend", be.id());
            meta.put("nibble.device", be.device().name());
            Map<String, Tensor> res = switch (op) {
                case "rotate" -> rotate(be, inputs, rot, meta);
                case "quantize" -> quantize(be, inputs, meta);
                case "dequantize" -> dequantize(be, inputs, meta);
                case "gemm" -> gemm(be, inputs, meta);
                default -> linear(be, inputs, rot, meta);
            };
            SafetensorsWriter.write(out, res, meta);
        }
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }

    private Map<String, Tensor> rotate(KernelBackend be, OpInputs in, Rotation rot, Map<String, String> meta) {
        Tensor x = in.floats("x", -1);
        meta.put("nibble.rotation", rot.describe());
        try (DeviceTensor dx = be.upload(x); DeviceTensor y = be.rotate(dx, rot)) {
            return Map.of("y", be.download(y).copy());
        }
    }

    private Map<String, Tensor> quantize(KernelBackend be, OpInputs in, Map<String, String> meta) {
        Tensor x = in.floats("x", -1);
        QuantScheme s = schemeFromOptions("token");
        meta.put("nibble.scheme", s.describe());
        try (DeviceTensor dx = be.upload(x); DeviceQuantized q = be.quantize(dx, s)) {
            return parts("", be.download(q));
        }
    }

    private Map<String, Tensor> dequantize(KernelBackend be, OpInputs in, Map<String, String> meta) {
        QuantizedTensor q = in.quantized("", scheme("nibble.scheme", in));
        meta.put("nibble.scheme", q.scheme().describe());
        try (DeviceQuantized dq = be.upload(q); DeviceTensor y = be.dequantize(dq)) {
            return Map.of("y", be.download(y).copy());
        }
    }

    private Map<String, Tensor> gemm(KernelBackend be, OpInputs in, Map<String, String> meta) {
        boolean qx = in.hasQuantized("x");
        boolean qw = in.hasQuantized("w");
        if (qx && !qw) {
            throw new InvalidInputException(in.file() + ": quantized x needs quantized w (w.codes, w.scales)");
        }
        if (accumulate && !qx) {
            throw new InvalidInputException("--accumulate needs quantized x and w");
        }
        if (!qw) {
            Tensor x = in.floats("x", 2);
            Tensor w = in.floats("w", 2);
            sameK(in, x.shape().dim(1), w.shape().dim(1));
            meta.put("nibble.kind", "f32");
            try (DeviceTensor dx = be.upload(x); DeviceTensor dw = be.upload(w); DeviceTensor y = be.gemm(dx, dw)) {
                return Map.of("y", be.download(y).copy());
            }
        }
        QuantizedTensor w = in.quantized("w.", scheme("nibble.scheme.w", in));
        meta.put("nibble.scheme.w", w.scheme().describe());
        if (!qx) {
            Tensor x = in.floats("x", 2);
            sameK(in, x.shape().dim(1), w.shape().dim(1));
            meta.put("nibble.kind", "weight-only");
            try (DeviceTensor dx = be.upload(x); DeviceQuantized dw = be.upload(w); DeviceTensor y = be.gemmWeightOnly(dx, dw)) {
                return Map.of("y", be.download(y).copy());
            }
        }
        QuantizedTensor x = in.quantized("x.", scheme("nibble.scheme.x", in));
        meta.put("nibble.scheme.x", x.scheme().describe());
        sameK(in, x.shape().dim(1), w.shape().dim(1));
        meta.put("nibble.kind", accumulate ? "accumulate" : "quantized");
        try (DeviceQuantized dx = be.upload(x); DeviceQuantized dw = be.upload(w);
                DeviceTensor y = accumulate ? be.gemmAccumulate(dx, dw) : be.gemmQuantized(dx, dw)) {
            return Map.of("y", be.download(y).copy());
        }
    }

    private Map<String, Tensor> linear(KernelBackend be, OpInputs in, Rotation rot, Map<String, String> meta) {
        Tensor x = in.floats("x", 2);
        QuantizedLinear plan = checkpoint != null ? checkpointLayer() : plan(in, rot, x.shape().dim(1));
        if (x.shape().dim(1) != plan.inFeatures()) {
            throw new InvalidInputException(in.file() + ": x is " + x.shape() + " but layer '" + plan.name() + "' takes "
                    + plan.inFeatures() + " features");
        }
        meta.put("nibble.layer", plan.name());
        meta.put("nibble.rotation", plan.rotation().describe());
        if (plan.weight() != null) {
            meta.put("nibble.scheme.w", plan.weight().scheme().describe());
        }
        if (plan.activation() instanceof ActivationQuant.Dynamic d) {
            meta.put("nibble.scheme.x", d.scheme().describe());
        }
        try (PreparedLinear p = be.prepare(plan); DeviceTensor dx = be.upload(x); DeviceTensor y = p.forward(dx)) {
            return Map.of("y", be.download(y).copy());
        }
    }

    private QuantizedLinear checkpointLayer() {
        if (layer == null) {
            throw new InvalidInputException("--checkpoint needs --layer NAME");
        }
        CliSupport.existing(checkpoint, "--checkpoint");
        try (SafetensorsFile c = SafetensorsFile.open(checkpoint)) {
            Map<String, QuantizedLinear> plans = QuantizedCheckpoint.readPlans(c);
            QuantizedLinear p = plans.get(layer);
            if (p == null) {
                throw new CheckpointFormatException(checkpoint, layer, "no such layer (the checkpoint has " + plans.size() + ")");
            }
            return copy(p);
        }
    }

    /** A plan of x + w (+ bias, down, up) and the options; the weight is rotated and quantized on the host. */
    private QuantizedLinear plan(OpInputs in, Rotation rot, long k) {
        QuantizedTensor w;
        if (in.hasQuantized("w")) {
            w = copy(in.quantized("w.", scheme("nibble.scheme.w", in)));
        } else {
            Tensor wf = in.floats("w", 2);
            sameK(in, k, wf.shape().dim(1));
            w = Quantizer.quantize(Hadamard.rotate(wf, rot), schemeFromOptions("channel"));
        }
        int n = Math.toIntExact(w.shape().dim(0));
        QuantizedLinear.Builder b = QuantizedLinear.builder("op", Math.toIntExact(k), n).rotation(rot).weight(w);
        in.optional("bias").ifPresent(t -> b.bias(t.to(DType.F32).copy()));
        if (in.has("down") != in.has("up")) {
            throw new InvalidInputException(in.file() + ": a low-rank branch needs both 'down' and 'up'");
        }
        if (in.has("down")) {
            b.lowRank(new LowRank(in.floats("down", 2).copy(), in.floats("up", 2).copy()));
        }
        if (actBits != 0) {
            QuantScheme ws = w.scheme();
            QuantScheme as = ws.granularity() == Granularity.PER_GROUP
                    ? QuantScheme.symmetricGroup(actBits, ws.groupSize()) : QuantScheme.symmetric(actBits, Granularity.PER_TOKEN);
            b.activation(new ActivationQuant.Dynamic(as));
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(in.file() + ": " + e.getMessage());
        }
    }

    private static QuantizedTensor copy(QuantizedTensor q) {
        return new QuantizedTensor(q.codes().copy(), q.scales().copy(), q.zeros() == null ? null : q.zeros().copy(), q.scheme());
    }

    private static QuantizedLinear copy(QuantizedLinear p) {
        QuantizedLinear.Builder b = p.toBuilder();
        if (p.weight() != null) {
            b.weight(copy(p.weight()));
        } else {
            b.denseWeight(p.denseWeight().copy());
        }
        b.bias(p.bias() == null ? null : p.bias().copy());
        b.smooth(p.smooth() == null ? null : p.smooth().copy());
        b.shift(p.shift() == null ? null : p.shift().copy());
        if (p.lowRank() != null) {
            b.lowRank(new LowRank(p.lowRank().down().copy(), p.lowRank().up().copy()));
        }
        if (p.rotation() instanceof Rotation.Dense d) {
            b.rotation(new Rotation.Dense(d.matrix().copy(), d.label()));
        }
        return b.build();
    }

    private static void sameK(OpInputs in, long kx, long kw) {
        if (kx != kw) {
            throw new InvalidInputException(in.file() + ": x has K=" + kx + " but w has K=" + kw);
        }
    }

    private static Map<String, Tensor> parts(String prefix, QuantizedTensor q) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(prefix + "codes", q.codes().copy());
        m.put(prefix + "scales", q.scales().copy());
        if (q.zeros() != null) {
            m.put(prefix + "zeros", q.zeros().copy());
        }
        return m;
    }

    private boolean schemeOptionsGiven() {
        return bits != null || granularity != null || groupSize != null || affine || narrow || nf4 || clip != null;
    }

    /** The scheme from the options when any is given, else from the file's metadata key, else an error. */
    private QuantScheme scheme(String key, OpInputs in) {
        if (schemeOptionsGiven()) {
            return schemeFromOptions("token");
        }
        String m = in.metadata(key);
        if (m == null) {
            throw new InvalidInputException(in.file() + ": no metadata '" + key + "'; give the scheme with --bits, --granularity, ...");
        }
        return OpSpecs.scheme(m, in.file() + " metadata " + key);
    }

    private QuantScheme schemeFromOptions(String defaultGranularity) {
        Granularity g = OpSpecs.granularity(granularity != null ? granularity : nf4 ? "group" : defaultGranularity);
        int gs = g == Granularity.PER_GROUP ? (groupSize != null ? groupSize : 64) : 0;
        if (groupSize != null && g != Granularity.PER_GROUP) {
            throw new InvalidInputException("--group-size needs --granularity group");
        }
        try {
            QuantScheme s;
            if (nf4) {
                if (affine || narrow || (bits != null && bits != 4)) {
                    throw new InvalidInputException("--nf4 is 4-bit symmetric; drop --bits/--affine/--narrow");
                }
                s = new QuantScheme(QuantScheme.Format.NF4, 4, false, true, g, gs, false, 1f, true);
            } else {
                int b = bits != null ? bits : 8;
                s = affine ? QuantScheme.affine(b, g, gs)
                        : g == Granularity.PER_GROUP ? QuantScheme.symmetricGroup(b, gs) : QuantScheme.symmetric(b, g);
                if (narrow) {
                    s = s.withNarrowRange();
                }
            }
            return clip != null ? s.withClipRatio(clip) : s;
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("bad scheme options: " + e.getMessage());
        }
    }
}
