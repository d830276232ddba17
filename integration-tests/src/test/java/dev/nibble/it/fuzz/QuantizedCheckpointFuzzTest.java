package dev.nibble.it.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.NibbleException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.Backends;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.model.dit.DitConfig;
import dev.nibble.model.dit.DitModel;
import dev.nibble.model.dit.DitRunner;
import java.nio.file.Path;

/**
 * Fuzzes the quantized-checkpoint reader ({@link DitModel#load}, which reads a Nibble checkpoint
 * through {@code QuantizedCheckpoint.read}, and a full-precision DiT otherwise) with whole files.
 * Seeds are small real checkpoints written by {@link FuzzSeeds}: mutations of their header reach the
 * layer descriptors, schemes, rotations and config. A load either succeeds, with every plan's tensors
 * readable and sized as their headers say, or fails with a {@link CheckpointFormatException} naming the
 * file; anything else escaping is a finding. A model that loads is then run once (one image, CPU
 * backend): preparing and running an accepted plan may refuse it only with a typed
 * {@link NibbleException}.
 */
class QuantizedCheckpointFuzzTest {
    /** Larger inputs are not run: the forward pass is there to exercise odd plans, not big ones. */
    private static final long MAX_RUN_ELEMENTS = 1 << 16;
    private static final KernelBackend CPU = Backends.open("cpu");

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"\"nibble.format.version\"", "\"nibble.layers\"", "\"nibble.dit.config\"", "\"quantized\"",
        "\"dense\"", "\"none\"", "\"dynamic\"", "\"static\"", "\"identity\"", "\"regular-hadamard\"",
        "\"sylvester-hadamard\"", "\"PER_CHANNEL\"", "\"PER_GROUP\"", "\"PER_TENSOR\"", "\"PER_TOKEN\"", "\"INT\"",
        "\"NF4\"", "\"group_size\"", "\"in_features\"", "\"out_features\"", "\"weight_scheme\"", ".qweight",
        ".wscales", ".wzeros", ".ascales", ".azeros", ".smooth", ".shift", ".proj_down", ".proj_up", ".bias",
        ".rotation", "2147483647", "-2147483648", "\"2\"", "\"I4\"", "\"I8\""})
    void quantizedCheckpoint(byte[] bytes) {
        Path file = FuzzFiles.write("fuzz-q.safetensors", bytes);
        try (DitModel m = DitModel.load(file)) {
            FuzzFiles.touch("label table", m.labelTable());
            FuzzFiles.touch("pos embed", m.posEmbed());
            for (QuantizedLinear p : m.plans().values()) {
                touch(p);
            }
            run(m);
        } catch (CheckpointFormatException e) {
            FuzzFiles.checkNamesFile(e, file);
        }
    }

    private static void run(DitModel m) {
        DitConfig c = m.config();
        long pixels = (long) c.inChannels() * c.inputSize() * c.inputSize();
        if (pixels > MAX_RUN_ELEMENTS || (long) c.tokens() * c.mlpHidden() > MAX_RUN_ELEMENTS * 16) {
            return;
        }
        try (DitRunner r = new DitRunner(CPU, m)) {
            Tensor eps = r.forward(Tensor.ofFloats(new float[(int) pixels], 1, c.inChannels(), c.inputSize(), c.inputSize()),
                    new long[] {10}, new long[] {0}, 0);
            if (eps.elementCount() != pixels) {
                throw new AssertionError("eps " + eps.shape() + " for a " + c + " input");
            }
        } catch (CheckpointFormatException e) {
            throw new AssertionError("a file that loaded was refused as malformed when run: " + e.getMessage(), e);
        } catch (NibbleException typed) {
            // a plan the CPU backend cannot run, refused with a typed error: allowed
        }
    }

    private static void touch(QuantizedLinear p) {
        String n = p.name();
        if (p.weight() != null) {
            FuzzFiles.touch(n + ".qweight", p.weight().codes());
            FuzzFiles.touch(n + ".wscales", p.weight().scales());
            if (p.weight().zeros() != null) {
                FuzzFiles.touch(n + ".wzeros", p.weight().zeros());
            }
        } else {
            FuzzFiles.touch(n + ".weight", p.denseWeight());
        }
        for (var t : new dev.nibble.api.Tensor[] {p.smooth(), p.shift(), p.bias()}) {
            if (t != null) {
                FuzzFiles.touch(n, t);
            }
        }
        if (p.lowRank() != null) {
            FuzzFiles.touch(n + ".proj_down", p.lowRank().down());
            FuzzFiles.touch(n + ".proj_up", p.lowRank().up());
        }
        if (p.rotation() instanceof Rotation.Dense d) {
            FuzzFiles.touch(n + ".rotation", d.matrix());
        }
        if (p.activation() instanceof ActivationQuant.StaticTable st) {
            st.scales();
        }
        p.byteSize();
    }
}
