package dev.nibble.backend.cuda.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds the CUDA driver library and picks a binding: {@code -Dnibble.cuda.binding=jcuda|ffm} forces
 * one; otherwise JCuda, or FFM when JCuda's native library cannot load.
 */
public final class Drivers {
    /** System property forcing a binding. */
    public static final String BINDING_PROPERTY = "nibble.cuda.binding";

    private Drivers() {
    }

    /** @return the driver library's file name on this OS */
    public static String libraryName() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        return os.contains("win") ? "nvcuda.dll" : "libcuda.so.1";
    }

    /**
     * @return the symbols of the CUDA driver library, or empty if the library is not installed
     */
    public static Optional<SymbolLookup> cudaLibrary() {
        try {
            return Optional.of(SymbolLookup.libraryLookup(libraryName(), Arena.global()));
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    /** A chosen binding, with the note why when JCuda was passed over. */
    public record Selection(Driver driver, String note) {
    }

    /**
     * @param cuda the driver library's symbols
     * @return the binding to use
     * @throws IllegalStateException if a forced binding cannot load, naming why
     */
    public static Selection select(SymbolLookup cuda) {
        String forced = System.getProperty(BINDING_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (forced.equals("ffm")) {
            return new Selection(new FfmBinding(cuda), "forced by -D" + BINDING_PROPERTY + "=ffm");
        }
        try {
            return new Selection(new JCudaBinding(cuda), "");
        } catch (LinkageError | RuntimeException e) {
            if (forced.equals("jcuda")) {
                throw new IllegalStateException("JCuda's native library cannot load: " + firstLine(e), e);
            }
            return new Selection(new FfmBinding(cuda),
                    "JCuda's native library cannot load on " + System.getProperty("os.name") + "/"
                            + System.getProperty("os.arch") + " (" + firstLine(e) + "); using the FFM binding");
        }
    }

    /** JCuda's loader puts whole nested stack traces in its message: keep the first line for logs. */
    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl)).strip();
    }
}
