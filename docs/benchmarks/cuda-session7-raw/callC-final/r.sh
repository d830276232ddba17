#!/usr/bin/env bash
# session 7, call C (final): k_tq3h alone by programmatic dependent launch after the kernel before it (it waits first;
# k_tq3p plain again), the tiled GEMM lets its dependents launch at its start. Java checks through both bindings, harness
# check/tqcheck, before/after at the target shape (harness_o: main before this session), then the bench table with torch
# peers (incl. CUDA-graph timings)
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s7c
NB=$D/nibble/bin/nibble; chmod +x $NB
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
OPT="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=/tmp/b/harness_n; O=/tmp/b/harness_o
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
cat $OUT/gpu.txt
{ echo "=== GpuChecks, binding jcuda"; timeout 100 $J $OPT -Dnibble.cuda.binding=jcuda -cp "$CP" dev.nibble.backend.cuda.GpuChecks 2000; echo "exit $?";
  echo "=== GpuChecks, binding ffm"; timeout 80 $J $OPT -Dnibble.cuda.binding=ffm -cp "$CP" dev.nibble.backend.cuda.GpuChecks 500; echo "exit $?";
  $NB conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $NB conformance --backend cuda:0 | tail -1;
  echo "=== harness check"; timeout 90 $N check | grep -E "check: |FAIL"; echo "exit $?";
  echo "=== harness tqcheck"; timeout 60 $N tqcheck | grep -E "tqcheck|FAIL" | tail -3; echo "exit $?"; date -u; } > $OUT/java.txt 2>&1
grep -E "===|4096 x 3072|cycles|exit|FAIL|passed|check:|Exception" $OUT/java.txt | cut -c1-200
{ for round in 1 2; do for h in old new; do
    case $h in old) B=$O; E="X=1";; new) B=$N; E="X=1";; esac
    echo "== $h BF16 r$round"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 $B bench 2>&1 | grep "RESULT linear"
    echo "== $h F32 r$round"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=11,13 $B bench 2>&1 | grep "RESULT linear"
  done; done; date -u; } > $OUT/beforeafter.txt 2>&1
sed 's/gemm_TOPS.*//' $OUT/beforeafter.txt | cut -c1-130
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=7,11,12,13 $N bench; echo "=== F32 activations"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=7,11,12,13 $N bench; date -u; } > $OUT/harness-bench.txt 2>&1
grep -E "M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | grep -E "linear (w8a8_tiled|w4a4_tiled)|torch" | cut -c20-180
