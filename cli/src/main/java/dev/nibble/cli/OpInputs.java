package dev.nibble.cli;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantScheme;
import dev.nibble.api.QuantizedTensor;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The tensors {@code nibble op} reads, by role ({@code x}, {@code w.codes}, ...), with --input-name renames applied. */
final class OpInputs {
    private final SafetensorsFile file;
    private final Map<String, String> names = new HashMap<>();

    OpInputs(SafetensorsFile file, List<String> renames) {
        this.file = file;
        for (String r : renames == null ? List.<String>of() : renames) {
            int eq = r.indexOf('=');
            if (eq == 0 || eq == r.length() - 1) {
                throw new InvalidInputException("--input-name '" + r + "' is not ROLE=NAME");
            }
            names.put(eq < 0 ? "x" : r.substring(0, eq).trim(), eq < 0 ? r.trim() : r.substring(eq + 1).trim());
        }
    }

    Path file() {
        return file.path();
    }

    String metadata(String key) {
        return file.metadata().get(key);
    }

    private String name(String role) {
        return names.getOrDefault(role, role);
    }

    boolean has(String role) {
        return file.contains(name(role));
    }

    /** @return true if the operand is given as quantized parts ({@code role.codes}) rather than one tensor */
    boolean hasQuantized(String role) {
        return has(role + ".codes") && !has(role);
    }

    Optional<Tensor> optional(String role) {
        return has(role) ? Optional.of(floats(role, -1)) : Optional.empty();
    }

    /**
     * @param role the role
     * @param rank the rank required, or -1 for any rank of at least 1
     * @return the tensor as F32 (converted from F16/BF16)
     */
    Tensor floats(String role, int rank) {
        String n = name(role);
        Tensor t = file.tensor(n);
        if (!t.dtype().isFloatingPoint()) {
            throw new CheckpointFormatException(file.path(), n, "must be F32, F16 or BF16, is " + t.dtype().safetensorsName());
        }
        int r = t.shape().rank();
        if (rank > 0 ? r != rank : r < 1) {
            throw new CheckpointFormatException(file.path(), n, "has shape " + t.shape() + ", expected "
                    + (rank > 0 ? "rank " + rank : "rank 1 or more"));
        }
        return t.to(DType.F32);
    }

    /**
     * @param prefix "" or "x." / "w."
     * @param scheme the scheme the parts were made with
     * @return codes, scales and zero points under that prefix
     */
    QuantizedTensor quantized(String prefix, QuantScheme scheme) {
        Tensor codes = file.tensor(name(prefix + "codes"));
        Tensor scales = file.tensor(name(prefix + "scales"));
        Tensor zeros = has(prefix + "zeros") ? file.tensor(name(prefix + "zeros")) : null;
        if (!prefix.isEmpty() && codes.shape().rank() != 2) {
            throw new CheckpointFormatException(file.path(), name(prefix + "codes"), "has shape " + codes.shape() + ", expected [rows, K]");
        }
        try {
            return new QuantizedTensor(codes, scales, scheme.symmetric() ? null : zeros, scheme);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file.path(), name(prefix + "codes"), e.getMessage());
        }
    }
}
