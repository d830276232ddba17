#!/usr/bin/env bash
# after the store4/store_hilo refactor: conformance (both bindings), wgmma checks, harness check, bench at the target shape
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/final3
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=$D/nibble/bin/nibble
chmod +x $N
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
{ /tmp/b/wgmma_check; echo "exit $?"; /tmp/b/wgmma_group_check; echo "exit $?"; /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ NIBBLE_XBF16=1 NIBBLE_VARIANTS=6,7,8,9 /tmp/b/harness bench issue; NIBBLE_VARIANTS=4,5 /tmp/b/harness bench issue; } > $OUT/bench.txt 2>&1
grep -E "^[0-9]+ passed" $OUT/conf-cuda-*.txt
grep -E "checks: |check: |exit" $OUT/checks.txt
grep RESULT $OUT/bench.txt | cut -c1-140
