#!/usr/bin/env bash
# session 4, call 3: the grouped W4 epilogue stages up/lr rows during the main loop: group checks, harness check, bench
set -u
D=.device/s4
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ /tmp/b/wgmma_group_check; echo "exit $?"; /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ for i in 1 2; do NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,12 /tmp/b/harness bench issue; done; NIBBLE_VARIANTS=6,7,12 /tmp/b/harness bench issue; } > $OUT/bench.txt 2>&1
grep -E "checks: |check: |exit|FAIL" $OUT/checks.txt
grep RESULT $OUT/bench.txt | grep linear | cut -c1-200
