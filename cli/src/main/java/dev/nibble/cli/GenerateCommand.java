package dev.nibble.cli;

import dev.nibble.api.InvalidInputException;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.model.diffusion.DdimSampler;
import dev.nibble.model.diffusion.DdpmSchedule;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import dev.nibble.model.image.ImageGrid;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nibble generate}: class-conditional samples into a PNG grid (one row per class). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample images with DDIM (eta 0) and classifier-free guidance; write a PNG grid, one row per class.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", description = "A DiT checkpoint (full precision or quantized); default: the bundled demo.")
    Path model;

    @Option(names = "--classes", defaultValue = "0-9", description = "Classes, e.g. 0-9 or 1,3,5 (default ${DEFAULT-VALUE}).")
    String classes;

    @Option(names = "--per-class", defaultValue = "8", description = "Images per class (default ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--steps", defaultValue = "50", description = "DDIM steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--cfg", defaultValue = "1.5", description = "Guidance scale; 1 disables guidance (default ${DEFAULT-VALUE}).")
    double cfg;

    @Option(names = "--seed", defaultValue = "1", description = "Noise seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch", defaultValue = "32", description = "Images per forward batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--out", required = true, description = "The PNG file.")
    Path out;

    @Option(names = "--backend", description = "Backend id; default: automatic.")
    String backend;

    @Override
    public Integer call() {
        int[] cls = CliSupport.classes(classes);
        CliSupport.positive(perClass, "--per-class");
        CliSupport.positive(steps, "--steps");
        CliSupport.positive(batch, "--batch");
        CliSupport.output(out, "--out");
        Path m = model != null ? model : DemoFiles.dit();
        ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "generate");
        try (DitModel dit = DitModel.load(m)) {
            DitConfig c = dit.config();
            if (cls[cls.length - 1] >= c.numClasses()) {
                throw new InvalidInputException("--classes: class " + cls[cls.length - 1] + " outside the model's 0-"
                        + (c.numClasses() - 1));
            }
            if (steps > 1000) {
                throw new InvalidInputException("--steps must be at most 1000");
            }
            DdimSampler sampler = new DdimSampler(DdpmSchedule.linear1000(), steps, cfg, c.numClasses(), true);
            long[] labels = new long[cls.length * perClass];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = cls[i / perClass];
            }
            int size = c.inChannels() * c.inputSize() * c.inputSize();
            float[] all = new float[labels.length * size];
            try (KernelBackend be = CliSupport.backend(backend); DitRunner r = new DitRunner(be, dit)) {
                for (int from = 0; from < labels.length; from += batch) {
                    int b = Math.min(batch, labels.length - from);
                    int base = from;
                    Tensor imgs = sampler.sample(r::forward, java.util.Arrays.copyOfRange(labels, from, from + b), seed, from,
                            c.inChannels(), c.inputSize(), s -> bar.progress((long) base * steps + (long) s * b,
                                    (long) labels.length * steps, "step " + s + "/" + steps));
                    System.arraycopy(imgs.toFloatArray(), 0, all, from * size, b * size);
                }
            } finally {
                bar.done();
            }
            ImageGrid.write(Tensor.ofFloats(all, labels.length, c.inChannels(), c.inputSize(), c.inputSize()), perClass, 4, out);
        }
        spec.commandLine().getOut().println("wrote " + out + " (" + cls.length + " classes x " + perClass + ")");
        return 0;
    }
}
