#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5/bins.txz -C /tmp/b && tar xJf .device/s5/mb/mb.txz -C /tmp/b
cd /tmp/b
./wgpeak > $OUT/wgpeak.txt 2>&1
{ for K in 256 3072 6144; do echo "K=$K full:"; ./wgmma_check x 4096 $K 3072 k_wgmma_i8_t; echo "K=$K no epilogue:"; ./wgmma_check_noepi x 4096 $K 3072 k_wgmma_i8_t; done; } > $OUT/noepi.txt 2>&1
cat $OUT/wgpeak.txt $OUT/noepi.txt
