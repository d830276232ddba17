#!/usr/bin/env bash
# session 5, review call: FusedLinear.forward with one GEMM launch site (W4 unpack-first restructured), GpuChecks helpers,
# the harness's fork_side and wgmma_check's one device setup: GpuChecks and conformance through both bindings, harness
# check, W4A4 bench at the target shape, wgmma_check t4 checks (INT8 tiled + ping-pong), peaks, x
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s5r
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 2000; echo "exit $?"; done
  $N conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -1; } > $OUT/java.txt 2>&1
grep -E "===|bit for bit|cycles|exit|FAIL|passed|Exception" $OUT/java.txt
{ timeout 200 /tmp/b/harness_r check; echo "exit $?"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=12,13 /tmp/b/harness_r bench; } > $OUT/harness.txt 2>&1
grep -E "check: |exit|RESULT linear" $OUT/harness.txt | cut -c1-160
{ NOBENCH=1 timeout 120 /tmp/b/wgmma_check_r t4 k_wgmma_i8_t k_wgmma_i8_t_n128 k_wgmma_i8_tp; echo "exit $?"; /tmp/b/wgmma_check_r peaks; /tmp/b/wgmma_check_r x 4096 3072 3072 k_wgmma_i8_t k_wgmma_i8_tp; } > $OUT/wgmma.txt 2>&1
grep -E "^device|checks:|exit|TOPS|RESULT" $OUT/wgmma.txt
