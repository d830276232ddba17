#!/usr/bin/env bash
set -u
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; date -u; } > $OUT/info.txt 2>&1
{ time timeout 240 /tmp/wgmma_check t4; } > $OUT/t4.txt 2>&1
grep -E "checks:|FAIL|peak|error|CUDA" $OUT/t4.txt | head -40
grep RESULT $OUT/t4.txt | cut -c1-400
grep real $OUT/t4.txt
