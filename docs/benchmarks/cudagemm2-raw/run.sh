#!/usr/bin/env bash
# helper gemm, final call: wgmma checks (BF16 out, k_wgmma_i4w, k_wgmma_i8_t) + GEMM timings at all shapes,
# harness check + fused-linear bench (all shapes), torch peers (all shapes)
set -u
D=.device/gemm
chmod +x $D/wgmma_check $D/harness
{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; date -u; } > $OUT/info.txt 2>&1
{ time timeout 70 $D/wgmma_check bench; } > $OUT/wgmma_check.txt 2>&1
{ time NIBBLE_VARIANTS=4,5,8,9,10,11 timeout 70 $D/harness bench; } > $OUT/harness.txt 2>&1
{ time timeout 40 python3 spi-cuda/src/test/python/torch_peers.py; } > $OUT/torch.txt 2>&1
grep -E "checks:|FAIL|peak" $OUT/wgmma_check.txt
grep -E "RESULT" $OUT/wgmma_check.txt | grep -E "M=4096|variants" | cut -c1-420
grep -E "check: " $OUT/harness.txt
grep -E "M=4096 K=3072 N=3072" $OUT/harness.txt $OUT/torch.txt | cut -c1-300
grep real $OUT/*.txt
