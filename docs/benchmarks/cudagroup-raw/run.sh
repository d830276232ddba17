#!/usr/bin/env bash
# cudagroup, final call: conformance through JCuda and FFM (distribution with this branch's backend jar),
# grouped wgmma GEMM exactness + timing, harness bench at M=4096 K=N=3072 (SVDQuant linear)
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/cudagroup
N=$D/nibble/bin/nibble
chmod +x $N $D/wgmma_group_check $D/harness
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt 2>&1
$N backends -v > $OUT/backends.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
grep -i "kernel path\|wgmma" $OUT/backends.txt | head -3
tail -n 4 $OUT/conf-cuda-*.txt
timeout 200 $D/wgmma_group_check bench > $OUT/group_check.txt 2>&1
grep -E "FAIL|checks:" $OUT/group_check.txt | head -20
grep RESULT $OUT/group_check.txt
NIBBLE_BENCH_ONLY=4096,3072,3072 timeout 120 $D/harness bench > $OUT/harness.txt 2>&1
grep -E "FAIL|fail|peak|M=4096 K=3072 N=3072" $OUT/harness.txt | head -20
