#!/usr/bin/env bash
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
timeout 60 /tmp/wgmma_check x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i4w_t k_x1 k_x5 k_x65 k_x17 k_x16 k_x15 | tee $OUT/x3.txt
