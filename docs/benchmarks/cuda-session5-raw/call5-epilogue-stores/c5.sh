#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5/epi/epi.txz -C /tmp/b && tar xJf .device/s5/bins.txz -C /tmp/b
cd /tmp/b
for r in 1 2; do for K in 256 3072; do
  echo "K=$K"; ./wgmma_check x 4096 $K 3072 k_wgmma_i8_t
  for v in 2 5 6 7; do echo "EPIV=$v"; ./wc_epi$v x 4096 $K 3072 k_wgmma_i8_t; done
done; done > $OUT/epi2.txt 2>&1
grep -v "^K=\|^EPIV" $OUT/epi2.txt | paste - - - - - | awk '{print $3, $NF, $0}' | cut -c1-40 >/dev/null
cat $OUT/epi2.txt | paste -sd' ' | sed 's/RESULT x M=4096 //g; s/N=3072 BF16  k_wgmma_i8_t//g'
