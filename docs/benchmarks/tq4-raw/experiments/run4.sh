#!/bin/bash
# tq4 device call 4: attribution of the run-3 changes (codes per 16 vs per 4, loads from one base vs per chunk), M = 4096
set -x
for n in base c4 lq c4lq; do xz -dc .device/tq4/h_$n.xz > /tmp/h_$n && chmod +x /tmp/h_$n; done
cd /tmp
for n in base c4 lq c4lq; do
  C="R1:0,1,0;R2:0,2,0"; [ $n = base ] && C="old:3,0,0;R1:0,1,0;R2:0,2,0"
  NIBBLE_TQ_M=4096 NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1,3 NIBBLE_TQ_CONFIGS="$C" timeout 60 ./h_$n tqbench > $OUT/tqbench4_$n.txt 2>&1
done
ls -la $OUT
