#!/usr/bin/env bash
# session 4, call 4: conformance through both bindings with the side stream (SVDQuant) and the tiled W8A8 path
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s4
N=$D/nibble/bin/nibble
chmod +x $N
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
grep -E "[0-9]+ passed, [0-9]+ failed" $OUT/conf-cuda-*.txt | tail -4
grep -E "FAIL" $OUT/conf-cuda-*.txt | head
