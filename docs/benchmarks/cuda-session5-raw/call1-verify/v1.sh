#!/usr/bin/env bash
# session 5, call 1: verify session 4's last Java refactors on the GPU (conformance + GpuChecks through both bindings),
# K-slope of k_wgmma_i8_t (epilogue intercept), Nsight Compute of k_wgmma_i8_t, SASS of k_tq3_r2
set -u
tar xJf .device/jre.txz -C /tmp
export JAVA_HOME=/tmp/jre
D=.device/s5
N=$D/nibble/bin/nibble
chmod +x $N
J=/tmp/jre/bin/java
CP="$D/nibble/lib/*:$D/test-classes"
O="--enable-native-access=ALL-UNNAMED -Djava.library.path=$D/nibble/native"
mkdir -p /tmp/b && tar xJf $D/bins.txz -C /tmp/b
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; $N backends -v; } > $OUT/info.txt 2>&1
{ $N conformance --backend cuda:0 | tail -3; NIBBLE_OPTS=-Dnibble.cuda.binding=ffm $N conformance --backend cuda:0 | tail -3;
  for b in jcuda ffm; do echo "=== GpuChecks, binding $b"; timeout 200 $J $O -Dnibble.cuda.binding=$b -cp "$CP" dev.nibble.backend.cuda.GpuChecks 10000; echo "exit $?"; done; } > $OUT/java.txt 2>&1
{ for K in 256 768 1536 3072 6144 12288; do /tmp/b/wgmma_check x 4096 $K 3072 k_wgmma_i8_t k_wgmma_i8_t_n128; done; } > $OUT/kslope.txt 2>&1
cd /tmp/b
timeout 120 /usr/local/cuda/bin/ncu --clock-control none -k regex:k_wgmma_i8_t --section SpeedOfLight --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats --metrics lts__t_bytes.sum.per_second,lts__t_sectors_srcunit_tex.sum,sm__pipe_tensor_op_imma_cycles_active.avg.pct_of_peak_sustained_active ./wgmma_check prof k_wgmma_i8_t k_wgmma_i8_t_n128 > $OUT/ncu-i8t.txt 2>&1
/usr/local/cuda/bin/cuobjdump -sass -fun k_tq3_r2 ./harness > $OUT/sass-k_tq3_r2.txt 2>&1
cd - >/dev/null
grep -E "passed|===|bit for bit|cycles|exit|FAIL" $OUT/java.txt | head -30
cat $OUT/kslope.txt
grep -E "k_wgmma|Throughput|Duration|imma|lts__t_bytes|L2 Hit|Pipe" $OUT/ncu-i8t.txt | head -40
wc -l $OUT/sass-k_tq3_r2.txt
