#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5/st/st.txz -C /tmp/b && tar xJf .device/s5/bins.txz -C /tmp/b
cd /tmp/b
{ NOBENCH=1 timeout 150 ./wgmma_check_st t4 k_wgmma_i8_t k_wgmma_i8_t_n128; echo "exit $?"; } > $OUT/check-t4.txt 2>&1
tail -2 $OUT/check-t4.txt
{ for s in "4096 3072 3072" "4096 3072 12288" "4096 12288 3072" "4096 1152 4608" "1024 3072 3072"; do
  for r in 1 2; do echo "old"; ./wgmma_check x $s k_wgmma_i8_t; echo "new"; ./wgmma_check_st x $s k_wgmma_i8_t;
   echo "sg3"; ./wc_sg3 x $s k_wgmma_i8_t; echo "sg5"; ./wc_sg5 x $s k_wgmma_i8_t; done; done; } > $OUT/x.txt 2>&1
paste -sd' ' $OUT/x.txt | sed 's/RESULT x //g; s/ BF16 //g; s/k_wgmma_i8_t //g' | sed 's/old/\nold/g'
