#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5t/tp.txz -C /tmp/b && cd /tmp/b
./wgmma_check_tp peaks > $OUT/peaks.txt 2>&1; cat $OUT/peaks.txt
{ NOBENCH=1 timeout 100 ./wgmma_check_tp t4 k_wgmma_i8_tp; echo "exit $?"; } > $OUT/check-tp.txt 2>&1; tail -2 $OUT/check-tp.txt
for r in 1 2; do ./wgmma_check_tp x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i8_t_n128 k_wgmma_i8_tp; done > $OUT/x-tp.txt 2>&1; cat $OUT/x-tp.txt
