#!/bin/bash
# tq4 final device call: harness check, tqcheck, tqbench old vs new (same call, same data) with the copy bandwidth,
# registers, and Nsight Compute on the new k_tq3_r2 (W8A8 ConvRot, BF16 x, M = 4096, K = 3072)
set -x
xz -dc .device/tq4/harness.xz > /tmp/harness && chmod +x /tmp/harness
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt
cd /tmp
(time timeout 240 ./harness check) > $OUT/check.txt 2>&1
(time timeout 60 ./harness tqcheck) > $OUT/tqcheck.txt 2>&1
NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1,3 NIBBLE_TQ_CONFIGS="old:3,0;new:0,0" timeout 120 ./harness tqbench > $OUT/tqbench.txt 2>&1
/usr/local/cuda/bin/cuobjdump -res-usage ./harness 2>&1 | grep -A1 "k_tq3" > $OUT/res-usage.txt
M="smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio,smsp__average_warps_issue_stalled_wait_per_issue_active.ratio,smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio,smsp__average_warps_issue_stalled_not_selected_per_issue_active.ratio,smsp__average_warps_issue_stalled_no_instruction_per_issue_active.ratio,smsp__average_warps_issue_stalled_branch_resolving_per_issue_active.ratio,smsp__average_warps_issue_stalled_dispatch_stall_per_issue_active.ratio"
for t in 3 0; do echo "=== NIBBLE_TQ=$t"; NIBBLE_TQ=$t timeout 60 /usr/local/cuda/bin/ncu -k regex:k_tq3 --launch-skip 2 --launch-count 1 --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats --section LaunchStats --metrics $M ./harness profile; done > $OUT/ncu.txt 2>&1
ls -la $OUT
