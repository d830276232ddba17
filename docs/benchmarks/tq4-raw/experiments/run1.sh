#!/bin/bash
# tq4 device call 1: checks, tqbench old vs new configs, copy, ncu + SASS of k_tq3
set -x

D=.device/tq4
xz -dc $D/harness.xz > /tmp/harness && chmod +x /tmp/harness
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt
cd /tmp
(time timeout 150 ./harness tqcheck) > $OUT/tqcheck.txt 2>&1


NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1,3 NIBBLE_TQ_CONFIGS="old:3,0,0;new:0,0,0;newR1:0,1,0;newR2:0,2,0;p2:0,0,2;p4:0,0,4;p8:0,0,8" timeout 150 ./harness tqbench > $OUT/tqbench1.txt 2>&1
/usr/local/cuda/bin/cuobjdump -sass -fun k_tq3_r2 ./harness > /tmp/sass_r2.txt 2>&1; /usr/local/cuda/bin/cuobjdump -sass -fun k_tq3old_r2 ./harness > /tmp/sass_old_r2.txt 2>&1
/usr/local/cuda/bin/cuobjdump -sass -fun k_tq3_r2p ./harness > /tmp/sass_r2p.txt 2>&1
tar cJf $OUT/sass.txz -C /tmp sass_r2.txt sass_old_r2.txt sass_r2p.txt
for t in 0; do echo "=== NIBBLE_TQ=$t"; NIBBLE_TQ=$t timeout 90 /usr/local/cuda/bin/ncu -k regex:k_tq3 --launch-count 3 --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats --section LaunchStats --section MemoryWorkloadAnalysis ./harness profile; done > $OUT/ncu.txt 2>&1
ls -la $OUT
