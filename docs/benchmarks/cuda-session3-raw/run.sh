#!/usr/bin/env bash
# Final GPU run, session 3: conformance (JCuda, FFM) incl. the BF16-activation area, reliability checks, harness check
# + bench (F32 and BF16 activations) with torch peers, demo. At most 8 files.
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/final3
N=$D/nibble/bin/nibble
chmod +x $N $D/harness
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
R=dev.nibble.backend.cuda.ReliabilityGpuChecks
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; $N backends -v; } > $OUT/info.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
{ $D/harness check; echo "=== bench F32 activations"; NIBBLE_VARIANTS=4,5,6,7 $D/harness bench
  echo "=== bench BF16 activations"; NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,8,9 $D/harness bench; } > $OUT/harness.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
{ timeout 150 $J $O -cp "$CP" $R all 10000; echo "exit $?"; } > $OUT/reliability.txt 2>&1
{ time timeout 200 $N demo --backend cuda:0 --out /tmp/demo-cuda; } > $OUT/demo-cuda.txt 2>&1
cp /tmp/demo-cuda/report.md $OUT/demo-cuda-report.md 2>/dev/null
grep -i "kernel path" $OUT/info.txt
grep -E "passed|FAIL" $OUT/conf-cuda-*.txt | tail -6
grep -E "passed|exit" $OUT/reliability.txt | tail -4
grep -E "check: " $OUT/harness.txt
grep -E "M=4096 K=3072 N=3072" $OUT/harness.txt $OUT/torch.txt | cut -c1-220
grep -E "svdquant-w4a4|convrot-w4a4 |real" $OUT/demo-cuda-report.md $OUT/demo-cuda.txt | head
