#!/usr/bin/env bash
# session 5, final call 2 (kernels): harness check, wgmma_check t4 checks of the INT8 tiled kernels, the bench table
# (BF16 in/out, all shapes; F32 at the target shape), session-4 harness at the target shape (same call), torch peers
set -u
D=.device/s5f
mkdir -p /tmp/b /tmp/old && tar xJf $D/bins.txz -C /tmp/b && tar xJf $D/bins_old.txz -C /tmp/old
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
{ date -u; timeout 200 /tmp/b/harness_f check; echo "exit $?"; NOBENCH=1 timeout 120 /tmp/b/wgmma_check_f t4 k_wgmma_i8_t k_wgmma_i8_t_n128; echo "exit $?"; } > $OUT/kernel-checks.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=7,11,12,13 /tmp/b/harness_f bench; echo "=== F32 activations"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=7,11,12,13 /tmp/b/harness_f bench;
  echo "=== session 4 harness (main at the start of session 5), same call"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 /tmp/old/harness bench;
  echo "=== this session's harness again"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 /tmp/b/harness_f bench; } > $OUT/harness-bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
grep -E "check: |checks: |exit|FAIL" $OUT/kernel-checks.txt
grep -E "===|M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | cut -c1-230
