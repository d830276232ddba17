#!/usr/bin/env bash
D=.device/gemm4
xz -dc $D/wgmma_check.xz > /tmp/wgmma_check && chmod +x /tmp/wgmma_check
NOBENCH=1 timeout 60 /tmp/wgmma_check t4 k_wgmma_i4w_t k_wgmma_i4w_t_n128 k_wgmma_i8_t_d2 k_wgmma_i8_t_n128d2 k_wgmma_i4w_t_d2 k_wgmma_i4w_t_n128d2 k_wgmma_i4w_t_nb6 > $OUT/t4c.txt 2>&1; grep -E "checks|FAIL" $OUT/t4c.txt
for s in "256 3072 3072" "256 12288 3072" "256 1152 4608"; do
timeout 30 /tmp/wgmma_check x $s k_wgmma_i8_n128 k_wgmma_i8_t_n128 k_wgmma_i8_t_n128d2 k_wgmma_i4w_n128 k_wgmma_i4w_t_n128 k_wgmma_i4w_t_n128d2
done
for s in "4096 3072 3072" "4096 12288 3072" "1024 3072 3072"; do
timeout 30 /tmp/wgmma_check x $s k_wgmma_i8_t k_wgmma_i8_t_d2 k_wgmma_i4w k_wgmma_i4w_t k_wgmma_i4w_t_b3r56 k_wgmma_i4w_t_d2 k_wgmma_i4w_t_nb6
done
timeout 100 /usr/local/cuda/bin/ncu --clock-control none --metrics gpu__time_duration.sum,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_elapsed,l1tex__data_pipe_lsu_wavefronts_mem_shared.avg.pct_of_peak_sustained_elapsed,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,l1tex__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed_op_shared_ld.sum,smsp__inst_executed_op_shared_st.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,lts__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed /tmp/wgmma_check prof k_wgmma_i8_t k_wgmma_i4w_t k_wgmma_i4w > $OUT/ncu2.txt 2>&1
grep -vE "^\s*$|---|==PROF==|Metric Name" $OUT/ncu2.txt | cut -c1-130 | head -60
