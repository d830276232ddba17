#!/usr/bin/env bash
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
NOBENCH=1 timeout 60 /tmp/wgmma_check t4 k_wgmma_i4w_t_b6 k_wgmma_i4w_t > $OUT/t4b.txt 2>&1; grep -E "checks|FAIL" $OUT/t4b.txt
for s in "4096 3072 3072" "4096 12288 3072" "1024 3072 3072" "4096 1152 4608"; do
timeout 30 /tmp/wgmma_check x $s k_wgmma_i8_t k_wgmma_i4w k_wgmma_i4w_t k_wgmma_i4w_t_b6 k_wgmma_i4w_t_b3r64 k_wgmma_i4w_t_n128
done
