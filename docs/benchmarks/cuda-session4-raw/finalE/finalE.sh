#!/usr/bin/env bash
# session 4, call E: compact tiled weights (the last 256-row block holds the remaining rows rounded up to 8): harness
# check, wgmma_check t4 (its checks), GpuChecks and conformance through both bindings
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
{ /tmp/b/harness check; echo "exit $?"; timeout 50 /tmp/b/wgmma_check t4; echo "exit $?"; } > $OUT/kernel-checks.txt 2>&1
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; done
  $N conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -1; } > $OUT/java.txt 2>&1
grep -E "check: |checks|exit|FAIL" $OUT/kernel-checks.txt | head
grep -E "===|bit for bit|cycles|exit|FAIL|passed" $OUT/java.txt
