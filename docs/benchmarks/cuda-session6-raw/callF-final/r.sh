#!/usr/bin/env bash
# session 6, final call F: the GEMM waits (griddepcontrol.wait) before its first copies, in the original order (the
# weight-first prefetch of call T reverted). Java checks through both bindings, harness check, the bench table with torch
# peers, before/after at the target shape (harness_o: main before this session), the demo on the CUDA backend
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s6f
NB=$D/nibble/bin/nibble; chmod +x $NB
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
OPT="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=/tmp/b/harness_n; O=/tmp/b/harness_o
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
{ echo "=== GpuChecks, binding jcuda"; timeout 120 $J $OPT -Dnibble.cuda.binding=jcuda -cp "$CP" dev.nibble.backend.cuda.GpuChecks 3000; echo "exit $?";
  echo "=== GpuChecks, binding ffm"; timeout 120 $J $OPT -Dnibble.cuda.binding=ffm -cp "$CP" dev.nibble.backend.cuda.GpuChecks 1000; echo "exit $?";
  $NB conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $NB conformance --backend cuda:0 | tail -1;
  timeout 60 $N check | grep -E "check: "; echo "exit $?"; } > $OUT/java.txt 2>&1
grep -E "===|convrot|cycles|exit|FAIL|passed|check:|Exception" $OUT/java.txt | cut -c1-200
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=7,11,12,13 $N bench; echo "=== F32 activations"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=7,11,12,13 $N bench; date -u; } > $OUT/harness-bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
grep -E "M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | grep -E "linear (w8a8_tiled|w4a4_tiled)|torch" | cut -c20-180
{ for h in old new pdl0; do
    case $h in old) B=$O; E="X=1";; pdl0) B=$N; E="NIBBLE_PDL=0";; new) B=$N; E="X=1";; esac
    echo "== $h BF16"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 $B bench 2>&1 | grep "RESULT linear"
    echo "== $h F32"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=11 $B bench 2>&1 | grep "RESULT linear"
  done; date -u; } > $OUT/beforeafter.txt 2>&1
cut -c1-130 $OUT/beforeafter.txt
( time timeout 150 $NB demo --backend cuda:0 --out /tmp/demo-cuda ) > $OUT/demo.txt 2>&1; cat /tmp/demo-cuda/report.md >> $OUT/demo.txt 2>/dev/null
grep -E "convrot-w4a4 |svdquant-w4a4 |real" $OUT/demo.txt | head -4
