#!/usr/bin/env bash
set -u
mkdir -p /tmp/b && tar xJf .device/s5/st/st.txz -C /tmp/b && tar xJf .device/s5/bins.txz -C /tmp/b
cd /tmp/b
{ NOBENCH=1 timeout 150 ./wgmma_check_st t4 k_wgmma_i8_t k_wgmma_i8_t_n128; echo "exit $?"; } > $OUT/check-t4.txt 2>&1
tail -2 $OUT/check-t4.txt
{ timeout 200 ./harness_st check; echo "exit $?"; } > $OUT/check-harness.txt 2>&1
grep -E "check: |checks|exit|FAIL" $OUT/check-harness.txt | tail -5
{ for s in "4096 3072 3072" "4096 3072 12288" "4096 12288 3072" "4096 1152 4608" "1024 3072 3072" "1024 3072 12288"; do
  for r in 1 2; do echo "old"; ./wgmma_check x $s k_wgmma_i8_t k_wgmma_i8_t_n128; echo "new"; ./wgmma_check_st x $s k_wgmma_i8_t k_wgmma_i8_t_n128; done; done
  for r in 1 2; do echo "old"; ./wgmma_check x 256 3072 3072 k_wgmma_i8_t_n128; echo "new"; ./wgmma_check_st x 256 3072 3072 k_wgmma_i8_t_n128; done; } > $OUT/x.txt 2>&1
paste -sd' ' $OUT/x.txt | sed 's/RESULT x //g; s/ BF16 //g' | sed 's/old/\nold/g'
{ for h in harness harness_st; do echo "=== $h"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 ./$h bench; done; } > $OUT/bench.txt 2>&1
grep -E "===|RESULT|w8a8_tiled|w4a4_tiled" $OUT/bench.txt | cut -c1-220 | head -20
