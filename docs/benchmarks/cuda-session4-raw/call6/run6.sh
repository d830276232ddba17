#!/usr/bin/env bash
# session 4, call 6: k_wgmma_i8_n128_tw with per-row tiled W pointers: check + M=256 timings
set -u
D=.device/s4
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ for s in 256,3072,3072 256,12288,3072 256,1152,4608; do NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,11 NIBBLE_BENCH_ONLY=$s /tmp/b/harness bench; done; } > $OUT/bench.txt 2>&1
grep -E "n128_tw|check: |exit|FAIL" $OUT/checks.txt
grep RESULT $OUT/bench.txt | grep linear | cut -c1-150
