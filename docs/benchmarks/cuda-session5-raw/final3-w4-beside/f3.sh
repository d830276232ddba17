#!/usr/bin/env bash
# session 5, call F3: W4A4's weight unpack on the side stream beside the transform: GpuChecks (tiled vs row-major incl. the
# unpack-first plan at 2048 x 1152 x 2048) and conformance through both bindings, harness check, W4A4 bench beside vs
# serial, nibble bench (Java API)
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s5f
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins2.txz -C /tmp/b
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 2000; echo "exit $?"; done
  $N conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -1; } > $OUT/java.txt 2>&1
grep -E "===|bit for bit|cycles|exit|FAIL|passed|Exception" $OUT/java.txt
{ timeout 200 /tmp/b/harness_g check; echo "exit $?"; } > $OUT/check.txt 2>&1
grep -E "check: |exit" $OUT/check.txt
{ NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 /tmp/b/harness_g bench; echo "=== serial unpack"; NIBBLE_W4_SERIAL=1 NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=13 /tmp/b/harness_g bench;
  echo "=== beside again"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=13 /tmp/b/harness_g bench; } > $OUT/bench.txt 2>&1
grep -E "===|RESULT linear" $OUT/bench.txt | grep -E "===|M=4096 K=3072 N=3072" | cut -c1-200
{ timeout 150 $N bench -b cuda:0 -m 256,1024,4096 -s 3072x3072 -i w8a8,w4a4 -n 50 -w 20; } > $OUT/nibble-bench.txt 2>&1
tail -12 $OUT/nibble-bench.txt
