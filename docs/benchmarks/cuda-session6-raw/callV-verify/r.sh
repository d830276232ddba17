#!/usr/bin/env bash
# session 6, verification call V: k_tq3p (BF16 x), the rare path over flagged groups, the tiled GEMM by programmatic
# dependent launch (cuLaunchKernelEx through FFM in both bindings): GpuChecks and conformance through JCuda and FFM,
# harness tqcheck and check
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s6v
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
cat $OUT/gpu.txt
{ echo "=== GpuChecks, binding jcuda"; timeout 220 $J $O -Dnibble.cuda.binding=jcuda -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?";
  echo "=== GpuChecks, binding ffm"; timeout 150 $J $O -Dnibble.cuda.binding=ffm -cp "$CP" dev.nibble.backend.cuda.GpuChecks 2000; echo "exit $?";
  $N conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -1; } > $OUT/java.txt 2>&1
grep -E "===|bit for bit|cycles|exit|FAIL|passed|Exception|Error" $OUT/java.txt | cut -c1-220
{ timeout 100 /tmp/b/harness_n tqcheck; echo "exit $?"; timeout 100 /tmp/b/harness_n check; echo "exit $?"; } > $OUT/harness.txt 2>&1
grep -E "tqcheck:|check: |exit|FAIL" $OUT/harness.txt | head
