#!/usr/bin/env bash
# session 6, table call T: the bench table with torch peers (new kernels), before/after at the target shape in the same
# call (harness_o: main before this session's changes; harness_n with NIBBLE_PDL=0 and default), the transform alone
# (tqbench, new and old), and the demo on the CUDA backend
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s6t
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
N=/tmp/b/harness_n; O=/tmp/b/harness_o
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > $OUT/gpu.txt 2>&1
{ date -u; NIBBLE_XBF16=1 NIBBLE_VARIANTS=7,11,12,13 $N bench; echo "=== F32 activations"; NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=7,11,12,13 $N bench; date -u; } > $OUT/harness-bench.txt 2>&1
python3 $D/torch_peers.py > $OUT/torch.txt 2>&1
grep -E "M=4096 K=3072 N=3072" $OUT/harness-bench.txt $OUT/torch.txt | grep -E "RESULT linear (w8a8_tiled|w4a4_tiled)|bf16|int_mm" | cut -c1-170
{ for h in old pdl0 new; do
    case $h in old) B=$O; E="";; pdl0) B=$N; E="NIBBLE_PDL=0";; new) B=$N; E="";; esac
    echo "== $h BF16"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_XBF16=1 NIBBLE_VARIANTS=11,13 $B bench 2>&1 | grep "RESULT linear"
    echo "== $h F32"; env $E NIBBLE_BENCH_ONLY=4096,3072,3072 NIBBLE_VARIANTS=11 $B bench 2>&1 | grep "RESULT linear"
  done; date -u; } > $OUT/beforeafter.txt 2>&1
cut -c1-150 $OUT/beforeafter.txt
{ NIBBLE_TQ_M=4096 NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1 NIBBLE_TQ_CONFIGS="k_tq3:3;k_tq3h:4;k_tq3p:9" $N tqbench;
  echo "=== main before (harness_o)"; NIBBLE_TQ_M=4096 NIBBLE_TQ_DEDUP=1 NIBBLE_TQ_VARIANTS=0,1 NIBBLE_TQ_CONFIGS="k_tq3h_before:4" $O tqbench; } > $OUT/tqbench.txt 2>&1
grep -E "RESULT|^TQ" $OUT/tqbench.txt | grep -v "K=1152" | sed 's/  */ /g'
S=.device/s6v; chmod +x $S/nibble/bin/nibble
{ date -u; timeout 170 $S/nibble/bin/nibble demo --backend cuda:0; echo "exit $?"; date -u; } > $OUT/demo.txt 2>&1
tail -25 $OUT/demo.txt
