#!/usr/bin/env bash
# Rebuilds the jar's PTX (compute_80, JIT-compiled by the driver on any newer GPU) and cubins
# (sm_80, sm_86, sm_87, sm_89, sm_90), plus the wgmma GEMM for sm_90a (nibble_wgmma.cu, its own cubin:
# sm_90a code runs on compute capability 9.0 only) from the .cu sources when nvcc is on the PATH; otherwise keeps
# the committed ones. SOURCES.sha256 records the hash of the sources the binaries were built from;
# KernelResourcesTest fails the build when it no longer matches (stale binaries).
#   bash spi-cuda/src/main/cuda/build-kernels.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../resources/dev/nibble/backend/cuda/kernels"
mkdir -p "$out"
hash=$(cd "$here" && cat nibble_common.cuh nibble_ops.cu nibble_fused.cu nibble_kernels.cu nibble_wgmma.cu nibble_wgmma_grouped.cuh build-kernels.sh | sha256sum | cut -d' ' -f1)
if [ "${1:-}" != "--force" ] && [ -f "$out/SOURCES.sha256" ] && [ "$(cat "$out/SOURCES.sha256")" = "$hash" ]; then
  echo "[nibble-cuda] kernels up to date ($hash)"; exit 0
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "[nibble-cuda] nvcc not found: keeping the committed PTX/cubins"; exit 0
fi
# No fast-math, no FMA contraction: codes must be bit-identical to numerics/Quantizer.
FLAGS="-O3 -std=c++17 --fmad=false -prec-div=true -prec-sqrt=true -ftz=false"
cd "$here"
nvcc $FLAGS -ptx -arch=compute_80 nibble_kernels.cu -o "$out/nibble.ptx"
for sm in 80 86 87 89 90; do
  nvcc $FLAGS -cubin -arch=sm_$sm nibble_kernels.cu -o "$out/nibble.sm_$sm.cubin"
done
nvcc $FLAGS -cubin -gencode arch=compute_90a,code=sm_90a nibble_wgmma.cu -o "$out/nibble_wgmma.sm_90a.cubin"
echo "$hash" > "$out/SOURCES.sha256"
echo "[nibble-cuda] rebuilt kernels ($hash) with $(nvcc --version | tail -1)"
