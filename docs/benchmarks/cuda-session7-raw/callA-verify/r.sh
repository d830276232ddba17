#!/usr/bin/env bash
# session 7, call A: verify main (0e7c38b review commit + launcher fix) on the GPU: GpuChecks and conformance through
# both bindings, the CUDA demo (progress now visible), torch peers with CUDA-graph timings
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s7a
NB=$D/nibble/bin/nibble; chmod +x $NB
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
OPT="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
cat $OUT/gpu.txt
( time timeout 280 $NB demo --backend cuda:0 --out /tmp/demo-cuda ) > $OUT/demo.txt 2>&1; cat /tmp/demo-cuda/report.md >> $OUT/demo.txt 2>/dev/null
grep -E "convrot-w4a4 |svdquant-w4a4 |real|backend cuda" $OUT/demo.txt | head -5
tr '\r' '\n' < $OUT/demo.txt | grep -E "^eval" | head -3
{ echo "=== GpuChecks, binding jcuda"; timeout 100 $J $OPT -Dnibble.cuda.binding=jcuda -cp "$CP" dev.nibble.backend.cuda.GpuChecks 2000; echo "exit $?";
  echo "=== GpuChecks, binding ffm"; timeout 100 $J $OPT -Dnibble.cuda.binding=ffm -cp "$CP" dev.nibble.backend.cuda.GpuChecks 1000; echo "exit $?";
  date -u; $NB conformance --backend cuda:0 | tail -1; date -u; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $NB conformance --backend cuda:0 | tail -1; date -u; } > $OUT/java.txt 2>&1
grep -E "===|convrot|cycles|exit|FAIL|passed|Exception|UTC" $OUT/java.txt | cut -c1-200
( time timeout 120 python3 $D/torch_peers.py ) > $OUT/torch.txt 2>&1
grep -E "M=(256|4096) K=3072 N=3072|real|Error|error" $OUT/torch.txt | cut -c1-220
