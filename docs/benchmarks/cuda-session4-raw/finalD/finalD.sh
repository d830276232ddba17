#!/usr/bin/env bash
# session 4, call D: conformance through both bindings after the last Java change (side stream joined in a finally block)
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
N=.device/s4/nibble/bin/nibble
chmod +x $N
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
grep -E "^[0-9]+ passed" $OUT/conf-cuda-*.txt
