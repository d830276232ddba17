package dev.nibble.it.fuzz;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What every fuzz target shares: one scratch file per JVM that each input is written to (the readers
 * take paths and memory-map them), and the checks that a successfully read tensor is what its header
 * says it is.
 */
final class FuzzFiles {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("nibble-fuzz");
            DIR.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private FuzzFiles() {
    }

    /** @return a scratch file holding exactly these bytes */
    static Path write(String name, byte[] bytes) {
        Path p = DIR.resolve(name);
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        p.toFile().deleteOnExit();
        return p;
    }

    /**
     * A rejected input must say which file it rejected: the message starts with the path.
     *
     * @param e the typed error the reader threw
     * @param file the file it was given
     */
    static void checkNamesFile(CheckpointFormatException e, Path file) {
        if (e.getMessage() == null || !e.getMessage().startsWith(file.toString())) {
            throw new AssertionError("error does not name the file " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks that a tensor view has exactly the bytes its dtype and shape need (computed without
     * overflow) and reads every one of them, so a view reaching past the map fails here.
     *
     * @param what the tensor's name, for the assertion message
     * @param t the view
     * @return a checksum of its bytes (so the reads are not dead code)
     */
    static long touch(String what, Tensor t) {
        BigInteger elements = BigInteger.ONE;
        long[] dims = t.shape().dims();
        for (long d : dims) {
            elements = elements.multiply(BigInteger.valueOf(d));
        }
        BigInteger need;
        if (t.dtype().isPacked()) {
            BigInteger cols = BigInteger.valueOf(dims.length == 0 ? 1 : dims[dims.length - 1]);
            BigInteger rows = dims.length == 0 || dims[dims.length - 1] == 0 ? BigInteger.ZERO
                    : elements.divide(cols);
            if (dims.length == 0) {
                rows = BigInteger.ONE;
            }
            need = rows.multiply(cols.add(BigInteger.ONE).shiftRight(1));
        } else {
            need = elements.multiply(BigInteger.valueOf(t.dtype().bits() / 8));
        }
        MemorySegment seg = t.data();
        if (!need.equals(BigInteger.valueOf(seg.byteSize()))) {
            throw new AssertionError(what + ": " + t.dtype() + " " + t.shape() + " needs " + need
                    + " bytes but its view has " + seg.byteSize());
        }
        long sum = 0;
        for (long i = 0; i < seg.byteSize(); i++) {
            sum = sum * 31 + seg.get(ValueLayout.JAVA_BYTE, i);
        }
        return sum;
    }
}
