package dev.nibble.it.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.nibble.api.ActivationQuant;
import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Rotation;
import dev.nibble.model.dit.DitModel;
import java.nio.file.Path;

/**
 * Fuzzes the quantized-checkpoint reader ({@link DitModel#load}, which reads a Nibble checkpoint
 * through {@code QuantizedCheckpoint.read}, and a full-precision DiT otherwise) with whole files.
 * Seeds are small real checkpoints written by {@link FuzzSeeds}: mutations of their header reach the
 * layer descriptors, schemes, rotations and config. A load either succeeds, with every plan's tensors
 * readable and sized as their headers say, or fails with a {@link CheckpointFormatException} naming the
 * file; anything else escaping is a finding.
 */
class QuantizedCheckpointFuzzTest {
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
        } catch (CheckpointFormatException e) {
            FuzzFiles.checkNamesFile(e, file);
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
