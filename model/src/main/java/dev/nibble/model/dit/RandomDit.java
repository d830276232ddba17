package dev.nibble.model.dit;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a DiT checkpoint with seeded random weights in the facebookresearch/DiT layout, for tests
 * and benchmarks of every size (it streams tensor by tensor, so multi-GB files need little memory).
 */
public final class RandomDit {
    private RandomDit() {
    }

    /**
     * @param target the file
     * @param c the shape
     * @param seed the seed
     * @param dtype F32, F16 or BF16 weights
     * @return the file
     */
    public static Path write(Path target, DitConfig c, long seed, DType dtype) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = c.hiddenSize();
        try (SafetensorsWriter w = SafetensorsWriter.create(target)) {
            w.metadata(DitConfig.METADATA_KEY, c.toJson());
            for (DitLayers.Spec s : DitLayers.all(c)) {
                long[] shape = s.role() == dev.nibble.api.method.LayerRole.PATCH_EMBED
                        ? new long[] {s.out(), c.inChannels(), c.patchSize(), c.patchSize()} : new long[] {s.out(), s.in()};
                // scale like PyTorch's default init, larger for adaLN so the blocks do something
                double std = (s.role() == dev.nibble.api.method.LayerRole.ADALN_MODULATION ? 0.5 : 1.0) / Math.sqrt(s.in());
                random(w, s.name() + ".weight", rnd, std, dtype, shape);
                random(w, s.name() + ".bias", rnd, 0.02, DType.F32, s.out());
            }
            random(w, DitLayers.LABEL_TABLE, rnd, 1.0, dtype, c.numClasses() + 1, d);
            random(w, DitLayers.POS_EMBED, rnd, 0.5, DType.F32, 1, c.tokens(), d);
            return w.commit();
        }
    }

    private static void random(SafetensorsWriter w, String name, SplittableRandom rnd, double std, DType dtype, long... dims) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(dtype, Shape.of(dims), arena);
            long n = t.elementCount();
            for (long i = 0; i < n; i++) {
                t.setFloat(i, (float) (rnd.nextGaussian() * std));
            }
            w.add(name, t);
        }
    }
}
