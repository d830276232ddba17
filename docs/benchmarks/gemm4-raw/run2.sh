#!/usr/bin/env bash
set -u
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
{ time timeout 60 /tmp/wgmma_check x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i4w_t k_x1 k_x2 k_x5 k_x8 k_x15 k_wgmma_i4w_t; } > $OUT/x.txt 2>&1
cat $OUT/x.txt
NCU=/usr/local/cuda/bin/ncu
timeout 120 $NCU --clock-control none --section WarpStateStats --section SourceCounters --section SpeedOfLight /tmp/wgmma_check prof k_wgmma_i4w_t k_wgmma_i8_t > $OUT/ncu.txt 2>&1
grep -E "==PROF==|ERR|k_wgmma|Duration|Throughput|Stall|Warp Cycles|Issue" $OUT/ncu.txt | head -60
(cuobjdump -sass -fun k_wgmma_i4w_t /tmp/wgmma_check > $OUT/sass_i4w_t.txt 2>&1) ; wc -l $OUT/sass_i4w_t.txt
