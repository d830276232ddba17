#!/usr/bin/env bash
# session 4, call 5: after merging tq4 + gemm4 and the tiled dispatch: harness check, conformance (JCuda), bench of the tiled linears
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s4
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=$D/nibble/bin/nibble
chmod +x $N
{ /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,9,11,13 /tmp/b/harness bench issue
  for s in 256,3072,3072 1024,3072,3072 256,1152,4608 4096,1152,4608; do NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,9,11,13 NIBBLE_BENCH_ONLY=$s /tmp/b/harness bench; done; } > $OUT/bench.txt 2>&1
grep -E "tiled|check: |exit|FAIL" $OUT/checks.txt
grep -E "[0-9]+ passed, [0-9]+ failed" $OUT/conf-cuda-*.txt | tail -1
grep RESULT $OUT/bench.txt | grep linear | cut -c1-150
