#!/usr/bin/env bash
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
timeout 100 /tmp/wgmma_check t4 k_wgmma_i4w_t k_wgmma_i4w_t_n128 k_wgmma_i4w_t_s3 k_wgmma_i4w_t_n128s6 k_wgmma_i4w_t_n128s9 > $OUT/t4w.txt 2>&1
grep -E "checks|FAIL" $OUT/t4w.txt; grep RESULT $OUT/t4w.txt | grep "W4A4 BF16"
timeout 30 /tmp/wgmma_check x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i4w k_wgmma_i4w_t k_wgmma_i4w_t_s3
