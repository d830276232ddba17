#!/usr/bin/env bash
# session 7, call D: split K for few tiles (k_wgmma_i8_t_sk / _n128_sk, harness only: skcheck, skbench), and the tiled
# GEMM body it refactors (per-item k ranges) re-checked: harness check, target-shape bench against harness_c (call C's
# build = main before), GpuChecks and conformance through both bindings
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s7d
NB=$D/nibble/bin/nibble; chmod +x $NB
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
OPT="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=/tmp/b/harness_sk; O=/tmp/b/harness_c
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1; head -2 $OUT/gpu.txt | tail -1
{ date -u; timeout 60 $N skcheck; echo "exit $?"; date -u; } > $OUT/skcheck.txt 2>&1; tail -4 $OUT/skcheck.txt
{ timeout 60 $N skbench; echo "exit $?"; date -u; } > $OUT/skbench.txt 2>&1; cut -c1-400 $OUT/skbench.txt
{ timeout 70 $N check | grep -E "check: |FAIL"; echo "exit $?"; date -u; } > $OUT/check.txt 2>&1; cat $OUT/check.txt
{ $NB conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $NB conformance --backend cuda:0 | tail -1;
  echo "=== GpuChecks, binding jcuda"; timeout 60 $J $OPT -Dnibble.cuda.binding=jcuda -cp "$CP" dev.nibble.backend.cuda.GpuChecks 100; echo "exit $?"; date -u; } > $OUT/java.txt 2>&1
grep -E "===|4096 x 3072|cycles|exit|FAIL|passed|Exception|UTC" $OUT/java.txt | cut -c1-120
{ for h in c sk; do B=/tmp/b/harness_$h; echo "== $h BF16"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 timeout 40 $B bench 2>&1 | grep "RESULT linear"; done; date -u; } > $OUT/beforeafter.txt 2>&1
sed 's/gemm_TOPS.*//' $OUT/beforeafter.txt | cut -c1-130
