#!/bin/bash
# tq5 device call 3: checks (incl. the experiment kernels), tqbench old (k_tq3) vs k_tq3h and its experiments in one
# process, ncu of the cp.async F32 variant
set -x
xz -dc .device/tq5/harness.xz > /tmp/harness && chmod +x /tmp/harness
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt
cd /tmp
(time timeout 60 ./harness tqcheck) > $OUT/tqcheck.txt 2>&1
(time timeout 60 ./harness check) > $OUT/check.txt 2>&1
NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1 NIBBLE_TQ_CONFIGS="old:3,0;new:0,0;r56:5,0;async:6,0;async56:7,0" timeout 120 ./harness tqbench > $OUT/tqbench.txt 2>&1
NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=3 NIBBLE_TQ_CONFIGS="old:3,0;new:0,0" timeout 60 ./harness tqbench > $OUT/tqbench-g64.txt 2>&1
/usr/local/cuda/bin/cuobjdump -res-usage ./harness 2>&1 | grep -A1 "k_tq3" > /tmp/res-usage.txt
NIBBLE_TQ=6 timeout 40 /usr/local/cuda/bin/ncu --clock-control none -k regex:k_tq3h --launch-count 3 --section SpeedOfLight --section Occupancy --section WarpStateStats --section InstructionStats --metrics smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_wait_per_issue_active.ratio ./harness profile > /tmp/ncu-async.txt 2>&1
tar cJf $OUT/misc.txz -C /tmp res-usage.txt ncu-async.txt
ls -la $OUT
