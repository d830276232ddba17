"""Turns the harness (built with -DNIBBLE_WGMMA) and torch_peers outputs of one device run into the tables of
docs/benchmarks.md: the linears as the backend dispatches them on sm_90 (and the previous dispatch beside them)."""
import re, sys

h, t = open(sys.argv[1]).read(), open(sys.argv[2]).read()
copy = float(re.search(r"copy_d2d_GBps ([\d.]+)", h).group(1))
peak = float(re.search(r"mma_s8_peak_TOPS ([\d.]+)", h).group(1))
lin = {}
for m in re.finditer(r"RESULT linear (\S+) M=(\d+) K=(\d+) N=(\d+) total_us ([\d.]+) tq_us ([\d.]+) gemm_us ([\d.]+) gemm_TOPS ([\d.]+) tq_GBps ([\d.]+)", h):
    v, M, K, N = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    lin[(v, M, K, N)] = tuple(float(m.group(i)) for i in range(5, 10))
peer = {}
# each peer eagerly launched and (torch_peers.py since session 7) replayed from a CUDA graph; the ratios are against the
# faster of the two (at small M the eager loop's Python launches set the time)
for m in re.finditer(r"RESULT torch M=(\d+) K=(\d+) N=(\d+) bf16_us ([\d.]+) bf16_TFLOPS ([\d.]+) int_mm_us ([\d.]+) "
                     r"int_mm_TOPS ([\d.]+)(?: bf16_graph_us ([\d.]+|nan) int_mm_graph_us ([\d.]+|nan))?", t):
    bf, bft, im, imt = (float(m.group(i)) for i in range(4, 8))
    bfg, img = (float(m.group(i)) if m.group(i) else float("nan") for i in (8, 9))
    peer[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = (bf, bft, im, imt, bfg, img)


def faster(eager, graph):
    return eager if graph != graph else min(eager, graph)


def shown(eager, graph):
    return f"{eager:.1f}" if graph != graph else f"{eager:.1f} / {graph:.1f}"
print(f"Ceilings measured in the same run: D2D copy {copy:.0f} GB/s (read + write), INT8 mma.sync (m16n8k32) peak {peak:.0f} TOPS.\n")
nan = (float("nan"),)


def table(suffix, cols, title):
    """cols: (header, variant) pairs; a cell is the total µs and its ratio to BF16 cuBLAS"""
    rows = [(s, p) for s, p in peer.items() if any((v + suffix, *s) in lin for _, v in cols)]
    if not rows:
        return
    print(title + "\n")
    graphs = any(p[4] == p[4] for _, p in rows)
    how = " (eager / graph)" if graphs else ""
    print(f"| M | K | N | BF16 cuBLAS µs{how} | torch._int_mm µs{how} | " + " | ".join(h + " µs (× BF16)" for h, _ in cols)
          + " | low-rank overhead |")
    print("|---|---|---|---|---|" + "---|" * len(cols) + "---|")
    for (M, K, N), (bf, bft, im, imt, bfg, img) in rows:
        cells = []
        ref = faster(bf, bfg)
        for _, v in cols:
            x = lin.get((v + suffix, M, K, N), nan)[0]
            cells.append("–" if x != x else f"{x:.1f} ({ref / x:.2f}×)")
        sv = lin.get(("svdquant_r32_g64_wgmma_2streams" + suffix, M, K, N), nan)[0]
        g4 = lin.get(("w4a4_g64_wgmma" + suffix, M, K, N), nan)[0]
        over = "–" if sv != sv or g4 != g4 else f"{100 * (sv / g4 - 1):+.1f}%"
        print(f"| {M} | {K} | {N} | {shown(bf, bfg)} | {shown(im, img)} | " + " | ".join(cells) + f" | {over} |")
    print()


cols = [("W8A8 tiled", "w8a8_tiled_bf16out"), ("W8A8 row-major", "w8a8_convrot_wgmma_bf16out"),
        ("W4A4 tiled", "w4a4_tiled_bf16out"), ("W4A4 row-major", "w4a4_convrot_i4w_bf16out"),
        ("SVDQuant r32 g64, 2 streams", "svdquant_r32_g64_wgmma_2streams"), ("SVDQuant, 1 stream", "svdquant_r32_g64_wgmma"),
        ("W4A4 g64", "w4a4_g64_wgmma")]
table("_xbf16", cols, "BF16 activations in and out (the BF16 forward, as the peer); the first column of each pair is what "
      "the backend dispatches on sm_90 now:")
table("", [("W8A8 tiled", "w8a8_tiled_bf16out"), ("W8A8 row-major, F32 out", "w8a8_convrot_wgmma"),
           ("SVDQuant r32 g64, 2 streams", "svdquant_r32_g64_wgmma_2streams"), ("SVDQuant, 1 stream", "svdquant_r32_g64_wgmma"),
           ("W4A4 g64", "w4a4_g64_wgmma")], "F32 activations in (F32 out except the tiled W8A8 column, BF16 out):")
print("Per kernel (transform+quantize, then the GEMM alone):\n")
print("| variant | M | K | N | transform µs | transform GB/s (% of copy) | GEMM µs | GEMM TOPS (% of mma.sync peak) |")
print("|---|---|---|---|---|---|---|---|")
for (v, M, K, N), (tot, tq, gm, tops, gbps) in lin.items():
    print(f"| {v} | {M} | {K} | {N} | {tq:.1f} | {gbps:.0f} ({100 * gbps / copy:.0f}%) | {gm:.1f} | {tops:.0f} ({100 * tops / peak:.0f}%) |")
