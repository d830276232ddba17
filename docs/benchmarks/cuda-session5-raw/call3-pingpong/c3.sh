#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5/pp/pp.txz -C /tmp/b
cd /tmp/b
{ NOBENCH=1 timeout 120 ./wgmma_check_pp t4 k_wgmma_i8_tp; echo "exit $?"; } > $OUT/check.txt 2>&1
tail -3 $OUT/check.txt
{ for s in "4096 3072 3072" "4096 3072 12288" "4096 12288 3072" "4096 1152 4608" "1024 3072 3072" "256 3072 3072" "1024 3072 12288"; do
  ./wgmma_check_pp x $s k_wgmma_i8_t k_wgmma_i8_tp k_wgmma_i8_t k_wgmma_i8_tp; done
  ./wgmma_check_pp x 4096 3072 3072 k_wgmma_i8_t_n128 k_wgmma_i8_t_n128s6 k_wgmma_i8_t_n128s11; } > $OUT/x.txt 2>&1
cat $OUT/x.txt
