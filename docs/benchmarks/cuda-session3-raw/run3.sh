#!/usr/bin/env bash
# conformance through both bindings after adding the ConvRot W8A8 fused plan to the kit
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/final3
N=$D/nibble/bin/nibble
chmod +x $N
{ time $N conformance --backend cuda:0; } > $OUT/conf-cuda-jcuda.txt 2>&1
{ time NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0; } > $OUT/conf-cuda-ffm.txt 2>&1
grep -E "ConvRot W8A8|^[0-9]+ passed|FAIL" $OUT/conf-cuda-*.txt | cut -c1-200
