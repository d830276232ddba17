#!/usr/bin/env bash
# session 6, call B: programmatic dependent launch of k_wgmma_i8_t after the transform (NIBBLE_PDL=1; W copies before
# griddepcontrol.wait), the rare path over flagged groups only, and the persistent k_tq3p72 (NIBBLE_TQ=10) again
set -u
mkdir -p /tmp/b && tar xJf .device/s6b/bins.txz -C /tmp/b
H=/tmp/b/harness_b
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
{ NIBBLE_PDL=1 timeout 200 $H check; echo "exit $?"; } > $OUT/check-pdl.txt 2>&1
grep -E "check: |exit" $OUT/check-pdl.txt | tail -3
{ timeout 240 $H tqcheck; echo "exit $?"; } > $OUT/tqcheck.txt 2>&1
grep -E "tqcheck:|exit" $OUT/tqcheck.txt | tail -3
for rep in 1 2; do
  for cfg in "0 0" "1 0" "0 10" "1 10"; do set -- $cfg
    echo "== rep $rep PDL=$1 TQ=$2 xbf16=1"
    NIBBLE_PDL=$1 NIBBLE_TQ=$2 NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 $H bench 2>&1 | grep -E "RESULT linear"
  done
  for pdl in 0 1; do echo "== rep $rep PDL=$pdl TQ=0 xbf16=0"; NIBBLE_PDL=$pdl NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=11 $H bench 2>&1 | grep -E "RESULT linear"; done
done > $OUT/bench.txt 2>&1
cat $OUT/bench.txt | cut -c1-200
NIBBLE_TQ_M=4096 NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1 NIBBLE_TQ_CONFIGS="h:4;p72:10;h2:4;p72b:10" timeout 200 $H tqbench > $OUT/tqbench.txt 2>&1
grep -E "RESULT|^TQ" $OUT/tqbench.txt | grep -v "K=1152" | sed 's/  */ /g'
