"""Peers for docs/benchmarks/cuda.md: PyTorch BF16 matmul (cuBLAS) and torch._int_mm (INT8), timed the
same way as the Nibble harness: CUDA events around 10 back-to-back calls, median of 40 samples, after
warm-up, with inputs rotated over several random sets so they are not all in L2."""
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
        print(f"RESULT torch M={M} K={K} N={N} bf16_us {t_bf16:.2f} bf16_TFLOPS {2*M*N*K/t_bf16/1e6:.1f} "
              f"int_mm_us {t_i8:.2f} int_mm_TOPS {2*M*N*K/t_i8/1e6:.1f}")
