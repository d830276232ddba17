#!/usr/bin/env bash
# session 5, final call 1 (Java, after the merge of k_tq3h and the INT8 tiled GEMM's direct BF16 stores): conformance
# and GpuChecks (incl. k_tq3h vs k_tq3 through the Java API) through both bindings, reliability checks, demo on the GPU
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s5f
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; $N backends -v; } > $OUT/info.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; done
  echo "=== ReliabilityGpuChecks"; timeout 150 $J $O -cp "$CP" dev.nibble.backend.cuda.ReliabilityGpuChecks all 10000; echo "exit $?"; } > $OUT/java-checks.txt 2>&1
{ time timeout 200 $N demo --backend cuda:0 --out /tmp/demo-cuda; cat /tmp/demo-cuda/report.md; } > $OUT/demo-cuda.txt 2>&1
grep -i "kernel path" $OUT/info.txt
grep -E "[0-9]+ passed, [0-9]+ failed" $OUT/conf-cuda-*.txt | tail -2
grep -E "===|bit for bit|cycles|exit|FAIL|passed|Exception" $OUT/java-checks.txt | head -30
grep -E "convrot-w4a4 |svdquant-w4a4 |real" $OUT/demo-cuda.txt | head -4
