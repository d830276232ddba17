package dev.nibble.cli;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.safetensors.SafetensorsFile;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble forward}: one DiT forward pass on given inputs. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run one DiT forward pass: inputs x [B,C,H,W] F32, t [B] and y [B] (I64 or I32) from a safetensors file; "
                + "writes eps [B,C,H,W] F32.")
final class ForwardCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "A DiT checkpoint (full precision or quantized by nibble).")
    Path model;

    @Option(names = "--inputs", required = true, description = "safetensors with tensors x, t, y.")
    Path inputs;

    @Option(names = "--out", required = true, description = "Where to write eps (safetensors).")
    Path out;

    @Option(names = "--backend", description = "Backend id (cpu, opencl:0:0, cuda:0); default: automatic.")
    String backend;

    @Option(names = "--step", defaultValue = "0", description = "Sampling step index for per-step activation tables (default 0).")
    int step;

    @Override
    public Integer call() {
        CliSupport.output(out, "--out");
        try (DitModel m = DitModel.load(model); SafetensorsFile io = SafetensorsFile.open(inputs)) {
            Tensor x = io.tensor("x");
            if (!x.dtype().isFloatingPoint()) {
                throw new CheckpointFormatException(inputs, "x", "must be floating point, is " + x.dtype().safetensorsName());
            }
            long[] t = ints(io, "t");
            long[] y = ints(io, "y");
            Tensor eps;
            try (KernelBackend be = CliSupport.backend(backend); DitRunner r = new DitRunner(be, m)) {
                Tensor outT = r.forward(x, t, y, step);
                eps = firstChannels(outT, m.config().inChannels());
            }
            Map<String, Tensor> res = new LinkedHashMap<>();
            res.put("eps", eps);
            SafetensorsWriter.write(out, res, Map.of("nibble.model", model.getFileName().toString()));
        }
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }

    static long[] ints(SafetensorsFile io, String name) {
        Tensor v = io.tensor(name);
        if (v.dtype() != DType.I64 && v.dtype() != DType.I32) {
            throw new CheckpointFormatException(io.path(), name, "must be I64 or I32, is " + v.dtype().safetensorsName());
        }
        long[] out = new long[Math.toIntExact(v.elementCount())];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.getLong(i);
        }
        return out;
    }

    static Tensor firstChannels(Tensor t, int c) {
        long[] d = t.shape().dims();
        if (d[1] == c) {
            return t;
        }
        float[] v = t.toFloatArray();
        int per = (int) (d[2] * d[3]);
        float[] o = new float[(int) d[0] * c * per];
        for (int n = 0; n < d[0]; n++) {
            System.arraycopy(v, (int) (n * d[1] * per), o, n * c * per, c * per);
        }
        return Tensor.ofFloats(o, d[0], c, d[2], d[3]);
    }
}
