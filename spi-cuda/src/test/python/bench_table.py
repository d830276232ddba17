"""Turns the harness (built with -DNIBBLE_WGMMA, the linear columns are the wgmma GEMMs) and torch_peers outputs of one device run into the tables of docs/benchmarks/cuda.md."""
import re, sys

h, t = open(sys.argv[1]).read(), open(sys.argv[2]).read()
copy = float(re.search(r"copy_d2d_GBps ([\d.]+)", h).group(1))
peak = float(re.search(r"mma_s8_peak_TOPS ([\d.]+)", h).group(1))
lin = {}
for m in re.finditer(r"RESULT linear (\S+) M=(\d+) K=(\d+) N=(\d+) total_us ([\d.]+) tq_us ([\d.]+) gemm_us ([\d.]+) gemm_TOPS ([\d.]+) tq_GBps ([\d.]+)", h):
    v, M, K, N = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    lin[(v, M, K, N)] = tuple(float(m.group(i)) for i in range(5, 10))
peer = {}
for m in re.finditer(r"RESULT torch M=(\d+) K=(\d+) N=(\d+) bf16_us ([\d.]+) bf16_TFLOPS ([\d.]+) int_mm_us ([\d.]+) int_mm_TOPS ([\d.]+)", t):
    peer[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = tuple(float(m.group(i)) for i in range(4, 8))
print(f"Ceilings measured in the same run: D2D copy {copy:.0f} GB/s (read + write), INT8 mma.sync (m16n8k32) peak {peak:.0f} TOPS.\n")
print("| M | K | N | BF16 cuBLAS µs | torch._int_mm µs | W4A4 ConvRot µs (× BF16) | W8A8 µs (× BF16) | SVDQuant r32 g64 µs (× BF16) | W4A4 g64 µs | low-rank overhead |")
print("|---|---|---|---|---|---|---|---|---|---|")
def used(v, M, K, N):
    """The per-row linears as the backend runs them on sm_90: the wgmma GEMM when the harness timed it."""
    w = (v + "_wgmma", M, K, N)
    return (lin[w] if w in lin else lin[(v, M, K, N)])[0]
for (M, K, N), (bf, bft, im, imt) in peer.items():
    c4 = used("w4a4_convrot", M, K, N); c8 = used("w8a8_convrot", M, K, N)
    sv = used("svdquant_r32_g64", M, K, N); g4 = used("w4a4_g64", M, K, N)
    print(f"| {M} | {K} | {N} | {bf:.1f} | {im:.1f} | {c4:.1f} ({bf/c4:.2f}×) | {c8:.1f} ({bf/c8:.2f}×) | {sv:.1f} ({bf/sv:.2f}×) | {g4:.1f} | {100*(sv/g4-1):+.0f}% |")
if any(v.endswith("_xbf16") for (v, _, _, _) in lin):
    # BF16 in / BF16 out (NIBBLE_XBF16=1), as the peer: the kernels the backend dispatches on sm_90 for a BF16 forward
    print("\nBF16 activations in and out (the BF16 forward), same shapes:\n")
    print("| M | K | N | BF16 cuBLAS µs | W4A4 ConvRot µs (× BF16) | W8A8 µs (× BF16) | SVDQuant r32 g64 µs (× BF16) | W4A4 g64 µs | low-rank overhead |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (M, K, N), (bf, bft, im, imt) in peer.items():
        g = lambda v: lin.get((v + "_xbf16", M, K, N), (float("nan"),))[0]
        c4 = g("w4a4_convrot_i4w_bf16out"); c8 = g("w8a8_convrot_wgmma_bf16out")
        sv = g("svdquant_r32_g64_wgmma"); g4 = g("w4a4_g64_wgmma")
        print(f"| {M} | {K} | {N} | {bf:.1f} | {c4:.1f} ({bf/c4:.2f}×) | {c8:.1f} ({bf/c8:.2f}×) | {sv:.1f} ({bf/sv:.2f}×) | {g4:.1f} | {100*(sv/g4-1):+.0f}% |")
print("\nPer kernel (transform+quantize `k_tq`, then the GEMM alone):\n")
print("| variant | M | K | N | k_tq µs | k_tq GB/s (% of copy) | GEMM µs | GEMM TOPS (% of mma.sync peak) |")
print("|---|---|---|---|---|---|---|---|")
for (v, M, K, N), (tot, tq, gm, tops, gbps) in lin.items():
    print(f"| {v} | {M} | {K} | {N} | {tq:.1f} | {gbps:.0f} ({100*gbps/copy:.0f}%) | {gm:.1f} | {tops:.0f} ({100*tops/peak:.0f}%) |")
