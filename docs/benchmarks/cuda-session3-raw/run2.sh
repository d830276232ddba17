#!/usr/bin/env bash
# Final GPU run 2, session 3 (per-kernel wgmma shared memory): conformance (JCuda, FFM), wgmma checks, harness check +
# bench (F32 and BF16 activations), torch peers.
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/final3
N=$D/nibble/bin/nibble
chmod +x $N $D/harness $D/wgmma_check $D/wgmma_group_check
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; $N backends -v; } > $OUT/info.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
{ $D/wgmma_check; echo "exit $?"; $D/wgmma_group_check; echo "exit $?"; } > $OUT/wgmma-checks.txt 2>&1
{ $D/harness check; echo "=== bench F32 activations"; NIBBLE_VARIANTS=4,5,6,7 $D/harness bench
  echo "=== bench BF16 activations"; NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,8,9 $D/harness bench; } > $OUT/harness.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
grep -E "^[0-9]+ passed" $OUT/conf-cuda-*.txt
grep -E "checks: |exit" $OUT/wgmma-checks.txt
grep -E "check: " $OUT/harness.txt
grep -E "M=4096 K=3072 N=3072" $OUT/harness.txt $OUT/torch.txt | cut -c1-200
