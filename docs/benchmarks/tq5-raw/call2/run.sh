#!/bin/bash
# tq5 device call 2 (chunked lane layout): checks, tqbench old (k_tq3) vs new (k_tq3h) in one process, SASS + registers, ncu of k_tq3h
set -x
xz -dc .device/tq5/harness.xz > /tmp/harness && chmod +x /tmp/harness
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt
cd /tmp
(time timeout 60 ./harness tqcheck) > $OUT/tqcheck.txt 2>&1
(time timeout 60 ./harness check) > $OUT/check.txt 2>&1
NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1,3 NIBBLE_TQ_CONFIGS="old:3,0;new:0,0" timeout 100 ./harness tqbench > $OUT/tqbench.txt 2>&1
/usr/local/cuda/bin/cuobjdump -sass -fun k_tq3h ./harness > /tmp/sass-k_tq3h.txt 2>&1
/usr/local/cuda/bin/cuobjdump -res-usage ./harness 2>&1 | grep -A1 "k_tq3" > /tmp/res-usage.txt
timeout 60 /usr/local/cuda/bin/ncu --clock-control none -k regex:k_tq3h --launch-count 3 --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats --section LaunchStats --section MemoryWorkloadAnalysis --metrics smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,smsp__average_warps_issue_stalled_wait_per_issue_active.ratio,smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_no_instruction_per_issue_active.ratio,smsp__average_warps_issue_stalled_drain_per_issue_active.ratio ./harness profile > /tmp/ncu.txt 2>&1
tar cJf $OUT/misc.txz -C /tmp sass-k_tq3h.txt res-usage.txt ncu.txt
ls -la $OUT
