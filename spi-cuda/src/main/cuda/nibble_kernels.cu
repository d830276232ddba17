// The one translation unit nvcc compiles into the jar's PTX and cubins.
#include "nibble_ops.cu"
#include "nibble_fused.cu"
