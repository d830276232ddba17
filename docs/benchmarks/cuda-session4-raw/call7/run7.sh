#!/usr/bin/env bash
# session 4, call 7: W4A4 with many tiles unpacks its tiled W4 into a transient INT8 copy (k_wgmma_w4t_to_w8t) and runs
# k_wgmma_i8_t: harness check, GpuChecks (tiled vs row-major through the Java API, both bindings), conformance, bench
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
{ /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; done
  time $N conformance --backend cuda:0; time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/java.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=9,13 /tmp/b/harness bench; } > $OUT/bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
grep -E "tiled w4a4|check: |exit|FAIL" $OUT/checks.txt
grep -E "===|tiled GEMM|cycles|exit|FAIL|passed, " $OUT/java.txt | head -24
grep RESULT $OUT/bench.txt | grep linear | cut -c1-150
grep "RESULT torch" $OUT/torch.txt
