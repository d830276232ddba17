#!/usr/bin/env bash
# session 6, call A: the persistent transform k_tq3p (NIBBLE_TQ = 8/9/10: 56/64/72 registers) vs k_tq3h and k_tq3:
# correctness (tqcheck), then tqbench at every bench shape, and a blocks-per-SM sweep at M = 4096
set -u
mkdir -p /tmp/b && tar xJf .device/s6a/bins.txz -C /tmp/b
H=/tmp/b/harness_p
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
{ timeout 240 $H tqcheck; echo "exit $?"; } > $OUT/tqcheck.txt 2>&1
grep -E "FAIL|tqcheck:|exit|tqp:" $OUT/tqcheck.txt | head -30
NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1 NIBBLE_TQ_CONFIGS="old:3;h:4;p56:8;p64:9;p72:10" timeout 200 $H tqbench > $OUT/tqbench.txt 2>&1
grep -E "RESULT|^TQ" $OUT/tqbench.txt | sed 's/  */ /g'
NIBBLE_TQ_M=4096 NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=1 NIBBLE_TQ_CONFIGS="h:4;p64b4:9,0,4;p64b5:9,0,5;p64b6:9,0,6;p64b7:9,0,7;p64b8:9,0,8;p64b10:9,0,10;p72b9:10,0,9;p56b12:8,0,12" timeout 200 $H tqbench > $OUT/sweep.txt 2>&1
grep -E "^TQ|tqp:" $OUT/sweep.txt | sed 's/  */ /g'
