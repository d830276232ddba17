#!/usr/bin/env bash
# session 4, call 2: k_lr_down on a second stream beside the transform (+ k_lr_sum): check, bench at the target shape
set -u
D=.device/s4
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,12 /tmp/b/harness bench issue; NIBBLE_VARIANTS=6,7,12 /tmp/b/harness bench issue; NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,12 NIBBLE_BENCH_ONLY=1024,3072,3072 /tmp/b/harness bench; } > $OUT/bench.txt 2>&1
grep -E "beside|check: |exit|FAIL" $OUT/checks.txt
grep RESULT $OUT/bench.txt | cut -c1-220
