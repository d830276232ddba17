#!/usr/bin/env bash
# helper gemm4, final call: all tiled-kernel checks, then timings (M in {256, 1024, 4096} x 4 shapes, F32 and BF16,
# the untiled kernels in the same line), then the remaining variants at M = 4096 K = N = 3072
set -u
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; date -u; } > $OUT/info.txt 2>&1
{ time timeout 150 /tmp/wgmma_check t4; } > $OUT/t4.txt 2>&1
grep -E "checks|FAIL|peak|error" $OUT/t4.txt
grep RESULT $OUT/t4.txt | grep BF16 | cut -c1-330
timeout 30 /tmp/wgmma_check x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i4w k_wgmma_i4w_t k_wgmma_i4w_t_bulk4 k_wgmma_i4w_t_s3 | tee $OUT/x.txt
grep real $OUT/t4.txt
