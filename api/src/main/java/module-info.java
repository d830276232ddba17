/**
 * Nibble's stable API: tensors, quantization schemes, rotations, the layer plans that methods
 * produce, and the two service interfaces ({@link dev.nibble.api.backend.KernelBackendProvider},
 * {@link dev.nibble.api.method.QuantMethodProvider}) that provider modules implement.
 * Depends on the JDK alone.
 */
module dev.nibble.api {
    requires static org.apiguardian.api;

    exports dev.nibble.api;
    exports dev.nibble.api.backend;
    exports dev.nibble.api.method;
    exports dev.nibble.api.numerics;
    exports dev.nibble.api.io;

    uses dev.nibble.api.backend.KernelBackendProvider;
    uses dev.nibble.api.method.QuantMethodProvider;
}
