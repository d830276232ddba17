package dev.nibble.backend.cpu;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What this JVM offers the CPU backend: whether the Vector API is usable (module resolved, C2 on,
 * a preferred species of at least 128 bits) and, if not, why and what flag fixes it. Nothing here
 * throws: the provider's probe reports what it finds.
 *
 * @param vector true if the Vector API kernels can be used
 * @param reason why the scalar path is used, empty when vector is true
 * @param remedy what the user can do about it
 * @param species the preferred float species (e.g. {@code Species[float, 16, S_512_BIT]}), or "none"
 * @param vectorBits the preferred vector width in bits, 0 if unknown
 */
record CpuPlatform(boolean vector, String reason, String remedy, String species, int vectorBits) {

    /** System property that forces the scalar loops (for tests and comparisons). */
    static final String SCALAR_PROPERTY = "nibble.cpu.scalar";
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    static final String ADD_MODULES_FLAG = "--add-modules jdk.incubator.vector";

    private static volatile CpuPlatform cached;

    /** @return the platform facts, computed once */
    static CpuPlatform detect() {
        CpuPlatform p = cached;
        if (p == null) {
            p = compute();
            cached = p;
        }
        return p;
    }

    private static CpuPlatform compute() {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
            return scalar("the Vector API module " + VECTOR_MODULE + " is not in the module graph",
                    "add " + ADD_MODULES_FLAG + " to the java command line");
        }
        String noC2 = compilerProblem();
        if (noC2 != null) {
            return scalar("the C2 compiler is off (" + noC2 + "); Vector API code would be slower than scalar loops",
                    "remove " + noC2 + " from the java command line");
        }
        try {
            int bits = VectorSpecies.preferredBits();
            String species = VectorSpecies.preferredName();
            if (bits < 256) {
                return new CpuPlatform(false, "the preferred vector width is " + bits
                        + " bits; the vector kernels need 256 (AVX2) or more", "run on a CPU with AVX2 or AVX-512", species, bits);
            }
            return new CpuPlatform(true, "", "", species, bits);
        } catch (LinkageError | RuntimeException e) {
            return scalar("the Vector API could not be loaded: " + e, "add " + ADD_MODULES_FLAG + " to the java command line");
        }
    }

    private static CpuPlatform scalar(String reason, String remedy) {
        return new CpuPlatform(false, reason, remedy, "none", 0);
    }

    /** @return the JVM flag that disables C2, or null if C2 looks available */
    private static String compilerProblem() {
        String info = System.getProperty("java.vm.info", "");
        if (info.toLowerCase(Locale.ROOT).contains("interpreted")) {
            return "-Xint";
        }
        if (ModuleLayer.boot().findModule("java.management").isEmpty()) {
            return null;
        }
        try {
            for (String arg : JvmArguments.list()) {
                if (arg.equals("-Xint") || arg.equals("-XX:-UseCompiler")) {
                    return arg;
                }
                if (arg.startsWith("-XX:TieredStopAtLevel=") && !arg.endsWith("=4")) {
                    return arg;
                }
            }
        } catch (LinkageError | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** @return true when the scalar loops are forced by {@value #SCALAR_PROPERTY} */
    static boolean scalarForced() {
        return Boolean.getBoolean(SCALAR_PROPERTY);
    }

    /**
     * @param threads the pool size an open backend would use
     * @return facts for bug reports
     */
    Map<String, String> details(int threads) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("jdk", System.getProperty("java.vm.name", "?") + " " + Runtime.version());
        d.put("os", System.getProperty("os.name", "?") + " " + System.getProperty("os.arch", "?"));
        d.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        d.put("threads", Integer.toString(threads));
        d.put("path", vector ? "vector" : "scalar");
        d.put("species", species);
        d.put("vectorBits", Integer.toString(vectorBits));
        if (scalarForced()) {
            d.put(SCALAR_PROPERTY, "true");
        }
        return d;
    }

    /** Reads the JVM's input arguments; a separate class so java.management loads only when present. */
    private static final class JvmArguments {
        static List<String> list() {
            return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments();
        }
    }

    /** Touches the Vector API; a separate class so it loads only when the module is present. */
    private static final class VectorSpecies {
        static int preferredBits() {
            return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        }

        static String preferredName() {
            return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.toString();
        }
    }
}
