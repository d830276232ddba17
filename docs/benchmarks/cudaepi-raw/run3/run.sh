#!/usr/bin/env bash
# cudaepi final: ping-pong wgmma checks + timings at M=4096 K=N=3072, conformance (JCuda, FFM) with this
# branch's distribution, torch peers and harness bench at the same shape. Everything under a hard timeout.
set -u
D=.device/cudaepi
N=$D/nibble/bin/nibble
chmod +x $N $D/harness $D/wgmma_check
(tar xJf .device/jre.txz -C /tmp) &
TP=$!
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt 2>&1
timeout 8 $D/wgmma_check pp > $OUT/wgmma_check.txt 2>&1; echo "exit $?" >> $OUT/wgmma_check.txt
wait $TP
export JAVA_HOME=/tmp/jre
{ time timeout 6 $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm timeout 6 $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
timeout 8 python3 $D/torch_peers.py issue > $OUT/torch.txt 2>&1; echo "exit $?" >> $OUT/torch.txt
if grep -q "checks: 0 failed" $OUT/wgmma_check.txt; then
  timeout 10 $D/harness bench issue > $OUT/harness.txt 2>&1; echo "exit $?" >> $OUT/harness.txt
else echo "harness skipped: wgmma_check did not pass" > $OUT/harness.txt; fi
grep -E "checks:|RESULT|exit" $OUT/wgmma_check.txt | cut -c1-200
tail -n 1 $OUT/conf-cuda-jcuda.txt; grep -E "passed, " $OUT/conf-cuda-*.txt | tail -2
grep -E "RESULT" $OUT/torch.txt; grep -E "RESULT linear|FAIL|exit" $OUT/harness.txt | cut -c1-200
