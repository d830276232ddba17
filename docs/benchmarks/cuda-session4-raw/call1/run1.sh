#!/usr/bin/env bash
# session 4, call 1: the tiled W8A8 wiring: conformance (JCuda), harness check (check_tiled), bench tiled vs row-major
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s4
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=$D/nibble/bin/nibble
chmod +x $N
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ /tmp/b/harness check; echo "exit $?"; } > $OUT/checks.txt 2>&1
{ NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,11 /tmp/b/harness bench issue; NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,11 NIBBLE_BENCH_ONLY=256,3072,3072 /tmp/b/harness bench; NIBBLE_XBF16=1 NIBBLE_VARIANTS=8,11 NIBBLE_BENCH_ONLY=1024,3072,3072 /tmp/b/harness bench; } > $OUT/bench.txt 2>&1
grep -E "passed|failed" $OUT/conf-cuda-*.txt | tail -3
grep -E "tiled|check: |exit|FAIL" $OUT/checks.txt
grep RESULT $OUT/bench.txt | cut -c1-160
