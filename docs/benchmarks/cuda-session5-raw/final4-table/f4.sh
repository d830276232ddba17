#!/usr/bin/env bash
# session 5, final call F4 (main at a505319): the bench table (BF16 in/out, all shapes; F32 at the target shape) with
# torch peers in the same call; conformance through both bindings; GpuChecks (10,000 cycles) through JCuda
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
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=7,11,12,13 /tmp/b/harness_g bench; echo "=== F32 activations"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=7,11,12,13 /tmp/b/harness_g bench; } > $OUT/harness-bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
{ $N conformance --backend cuda:0 | tail -1; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -1;
  timeout 200 $J $O -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; } > $OUT/java.txt 2>&1
grep -E "passed|bit for bit|cycles|exit|FAIL" $OUT/java.txt
grep -E "===|M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | grep -v "^.*tiled w" | cut -c1-200
