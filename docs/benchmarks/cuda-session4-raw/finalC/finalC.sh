#!/usr/bin/env bash
# session 4, final call C, after the last kernel and dispatch change (W4A4 unpacked first from M = 1024): conformance and
# GpuChecks through both bindings, reliability checks, harness check, the bench table with torch peers, demo
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s4
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; $N backends -v; } > $OUT/info.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; done
  echo "=== ReliabilityGpuChecks"; timeout 150 $J $O -cp "$CP" dev.nibble.backend.cuda.ReliabilityGpuChecks all 10000; echo "exit $?"; } > $OUT/java-checks.txt 2>&1
{ date -u; /tmp/b/harness check; echo "exit $?"; } > $OUT/kernel-checks.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,8,9,11,12,13 /tmp/b/harness bench; echo "=== F32 activations"; NIBBLE_VARIANTS=5,6,7,11,12 /tmp/b/harness bench issue; } > $OUT/harness-bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
{ time timeout 200 $N demo --backend cuda:0 --out /tmp/demo-cuda; cat /tmp/demo-cuda/report.md; } > $OUT/demo-cuda.txt 2>&1
grep -E "[0-9]+ passed, [0-9]+ failed" $OUT/conf-cuda-*.txt | tail -2
grep -E "===|bit for bit|cycles|exit|FAIL|passed" $OUT/java-checks.txt | head -24
grep -E "check: |exit|FAIL" $OUT/kernel-checks.txt
grep -E "M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | cut -c1-160
grep -E "convrot-w4a4 |svdquant-w4a4 |real" $OUT/demo-cuda.txt | head -4
