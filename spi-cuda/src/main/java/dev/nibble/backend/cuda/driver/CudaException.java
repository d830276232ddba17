package dev.nibble.backend.cuda.driver;

import dev.nibble.api.NibbleException;

/** A CUDA driver call that returned an error code. */
public final class CudaException extends NibbleException {
    private static final long serialVersionUID = 1L;
    private final int code;

    /** @param call the driver function @param code its CUresult */
    public CudaException(String call, int code) {
        super(call + " failed: " + CudaErrors.name(code) + " (" + code + ")");
        this.code = code;
    }

    /** @return the CUresult */
    public int code() {
        return code;
    }

    /** @return true for CUDA_ERROR_OUT_OF_MEMORY */
    public boolean outOfMemory() {
        return code == 2;
    }
}
