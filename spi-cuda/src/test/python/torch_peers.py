"""Peers for docs/benchmarks/cuda.md: PyTorch BF16 matmul (cuBLAS) and torch._int_mm (INT8), timed the
same way as the Nibble harness: CUDA events around 10 back-to-back calls, median of 40 samples, after
warm-up, with inputs rotated over several random sets so they are not all in L2. Each is also timed replayed from a
CUDA graph (bf16_graph_us, int_mm_graph_us): at small M the eager loop's Python launches, not the GPU, set the time
(2026-11-21, an H100: 256 x 3072 x 3072 measured 16.6 and 46.3 µs in two calls)."""
import sys, torch, statistics

issue = len(sys.argv) > 1 and sys.argv[1] == "issue"   # M = 4096, K = N = 3072 only

def bench(fn, sets):
    for i in range(5):
        fn(sets[i % len(sets)])
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t, it = [], 0
    for _ in range(40):
        e0.record()
        for _ in range(10):
            fn(sets[it % len(sets)]); it += 1
        e1.record(); e1.synchronize()
        t.append(e0.elapsed_time(e1) * 1000 / 10)
    return statistics.median(t)

def bench_graph(fn, sets):
    """The same 10 calls captured once in a CUDA graph and replayed (median of 40 replays): the GPU time without
    Python's launch overhead, which sets the eager time at a few µs of work per call (small M). NaN if the capture
    fails."""
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):   # warm-up off the capture (workspaces, heuristics)
            for i in range(3):
                fn(sets[i % len(sets)])
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for i in range(10):
                fn(sets[i % len(sets)])
        for _ in range(3):
            g.replay()
        torch.cuda.synchronize()
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t = []
        for _ in range(40):
            e0.record()
            g.replay()
            e1.record(); e1.synchronize()
            t.append(e0.elapsed_time(e1) * 1000 / 10)
        return statistics.median(t)
    except Exception as e:   # report, keep the eager numbers
        print(f"# CUDA graph capture failed: {e}", file=sys.stderr)
        return float("nan")

print("torch", torch.__version__, torch.cuda.get_device_name(0))
for K, N in [(3072, 3072), (3072, 12288), (12288, 3072), (1152, 4608)]:
    for M in [256, 1024, 4096]:
        if issue and not (M == 4096 and K == 3072 and N == 3072):
            continue
        nsets = int(min(32, max(2, (200 << 20) // (M * K * 2) + 1)))
        xs = [torch.randn(M, K, device="cuda", dtype=torch.bfloat16) for _ in range(nsets)]
        w = torch.randn(N, K, device="cuda", dtype=torch.bfloat16)
        t_bf16 = bench(lambda x: torch.nn.functional.linear(x, w), xs)
        xi = [torch.randint(-128, 127, (M, K), device="cuda", dtype=torch.int8) for _ in range(nsets)]
        wi = torch.randint(-128, 127, (N, K), device="cuda", dtype=torch.int8).t()
        t_i8 = bench(lambda a: torch._int_mm(a, wi), xi)
        g_bf16 = bench_graph(lambda x: torch.nn.functional.linear(x, w), xs)
        g_i8 = bench_graph(lambda a: torch._int_mm(a, wi), xi)
        print(f"RESULT torch M={M} K={K} N={N} bf16_us {t_bf16:.2f} bf16_TFLOPS {2*M*N*K/t_bf16/1e6:.1f} "
              f"int_mm_us {t_i8:.2f} int_mm_TOPS {2*M*N*K/t_i8/1e6:.1f} bf16_graph_us {g_bf16:.2f} int_mm_graph_us {g_i8:.2f}")
