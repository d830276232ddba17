// Standalone check and timing of the sm_90a GROUPED wgmma GEMM (nibble_wgmma_grouped.cuh: k_wgmma_i4_g,
// k_wgmma_i8_g) against the mma.sync grouped GEMM (k_gemm_i4_g / k_gemm_i8_g in nibble_fused.cu, the
// path the conformance kit validated) and a host reference:
//   nvcc -O3 -std=c++17 --fmad=false -gencode arch=compute_90a,code=sm_90a -o wgmma_group_check \
//        wgmma_group_check.cu && ./wgmma_group_check [bench]
// Exactness: F32 outputs bit-identical to the mma.sync kernel (both int->float conversions: cpg < 0 and
// cpg > 0), and sampled rows bit-identical to a host loop doing the same float operations in order.
#include "../../main/cuda/nibble_ops.cu"
#include "../../main/cuda/nibble_fused.cu"
#include "../../main/cuda/nibble_wgmma.cu"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
#include <random>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(2); } } while (0)

// variants of the flush schedule (p: stage pairs) and of the int->float conversion with cpg < 0 (c1: all by
// the 1.5*2^23 trick; c3 / c4: I2F for a quarter / three quarters; the kernels: I2F for half, no pairs)
#define VAR(name, MODE, PAIRS, CONV) extern "C" __global__ void __launch_bounds__(256, 1) name(WG_ARGS) { \
    if (cpg < 0) nwgg::body<MODE, PAIRS, CONV>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16); \
    else nwgg::body<MODE, PAIRS, 0>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16); }
VAR(k_wgmma_i4_g_pc1, 1, true, 1)
VAR(k_wgmma_i8_g_pc1, 0, true, 1)
VAR(k_wgmma_i4_g_c1, 1, false, 1)
VAR(k_wgmma_i4_g_c3, 1, false, 3)
VAR(k_wgmma_i4_g_c4, 1, false, 4)

typedef void (*GemmFn)(const uint8_t*, const uint8_t*, int, int, int, const float*, const float*, int, int,
                       const void*, const void*, int, int, const float*, void*, int);
struct Kern { const char* name; GemmFn fn; int smem; bool wg; };
static int g_sms = 132;
static Kern kernels[] = {
    {"k_gemm_i8_g", k_gemm_i8_g, GEMM_SMEM, false}, {"k_gemm_i4_g", k_gemm_i4_g, GEMM_SMEM, false},
    {"k_wgmma_i8_g", k_wgmma_i8_g, WGMMA_SMEM_I8_G, true}, {"k_wgmma_i4_g", k_wgmma_i4_g, WGMMA_SMEM_I4_G, true},
    {"k_wgmma_i8_g_pc1", k_wgmma_i8_g_pc1, WGMMA_SMEM_I8_G, true}, {"k_wgmma_i4_g_pc1", k_wgmma_i4_g_pc1, WGMMA_SMEM_I4_G, true},
    {"k_wgmma_i4_g_c1", k_wgmma_i4_g_c1, WGMMA_SMEM_I4_G, true}, {"k_wgmma_i4_g_c3", k_wgmma_i4_g_c3, WGMMA_SMEM_I4_G, true},
    {"k_wgmma_i4_g_c4", k_wgmma_i4_g_c4, WGMMA_SMEM_I4_G, true},
};
static Kern& K_(const char* n) { for (auto& k : kernels) if (!strcmp(k.name, n)) return k; printf("no %s\n", n); exit(2); }

static void launch(Kern& k, const uint8_t* a, const uint8_t* w, int M, int N, int Kpad, const float* sa, const float* sw,
                   int G, int cpg, const void* lr, const void* up, int r, const float* bias, float* y, int yBf16 = 0) {
    int tiles = ((N + 127) / 128) * ((M + 127) / 128);
    dim3 grid = k.wg ? dim3(std::min(tiles, g_sms)) : dim3((N + 127) / 128, (M + 127) / 128);
    k.fn<<<grid, 256, k.smem>>>(a, w, M, N, Kpad, sa, sw, G, cpg, lr, up, r, 1, bias, y, yBf16);
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16); }

struct Data { int M, N, Kpad, bits, r, G; uint8_t *a, *w; float *sa, *sw, *bias, *y; uint16_t *lr, *up; std::vector<uint8_t> ha, hw; std::vector<float> hsa, hsw; };

static Data make(int M, int N, int Kpad, int bits, int r, std::mt19937& rng) {
    Data d{M, N, Kpad, bits, r, Kpad / 64};
    size_t ra = (size_t)Kpad * bits / 8;
    d.ha.resize((size_t)M * ra); d.hw.resize((size_t)N * ra);
    for (auto& b : d.ha) b = rng() & 0xFF;
    for (auto& b : d.hw) b = rng() & 0xFF;
    std::uniform_real_distribution<float> us(0.001f, 0.02f), ub(-1.0f, 1.0f);
    d.hsa.resize((size_t)M * d.G); d.hsw.resize((size_t)N * d.G);
    for (auto& v : d.hsa) v = us(rng);
    for (auto& v : d.hsw) v = us(rng);
    std::vector<float> bias(N); for (auto& v : bias) v = ub(rng);
    std::vector<uint16_t> lr((size_t)M * 2 * std::max(r, 1)), up((size_t)N * std::max(r, 1));
    for (auto& v : lr) v = f2bf(ub(rng)); for (auto& v : up) v = f2bf(ub(rng));
    CK(cudaMalloc(&d.a, d.ha.size())); CK(cudaMalloc(&d.w, d.hw.size()));
    CK(cudaMalloc(&d.sa, d.hsa.size() * 4)); CK(cudaMalloc(&d.sw, d.hsw.size() * 4)); CK(cudaMalloc(&d.bias, N * 4));
    CK(cudaMalloc(&d.y, (size_t)M * N * 4)); CK(cudaMalloc(&d.lr, lr.size() * 2)); CK(cudaMalloc(&d.up, up.size() * 2));
    CK(cudaMemcpy(d.a, d.ha.data(), d.ha.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.w, d.hw.data(), d.hw.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.sa, d.hsa.data(), d.hsa.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.sw, d.hsw.data(), d.hsw.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.bias, bias.data(), N * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.lr, lr.data(), lr.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.up, up.data(), up.size() * 2, cudaMemcpyHostToDevice));
    return d;
}
static void release(Data& d) { cudaFree(d.a); cudaFree(d.w); cudaFree(d.sa); cudaFree(d.sw); cudaFree(d.bias); cudaFree(d.y); cudaFree(d.lr); cudaFree(d.up); }

static int code(const std::vector<uint8_t>& v, size_t rowBytes, int row, int k, int bits) {
    if (bits == 8) return (int8_t)v[(size_t)row * rowBytes + k];
    uint8_t b = v[(size_t)row * rowBytes + k / 2];
    int c = (k & 1) ? (b >> 4) : (b & 0xF);
    return c >= 8 ? c - 16 : c;
}

static bool check(const char* ref, const char* wg, int M, int N, int Kpad, int r, bool bias, bool fast, std::mt19937& rng) {
    int bits = strstr(ref, "i8") ? 8 : 4;
    int cpg = (bits == 8 ? 2 : 1) * (fast ? -1 : 1);
    Data d = make(M, N, Kpad, bits, r, rng);
    std::vector<float> y0((size_t)M * N), y1((size_t)M * N);
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(K_(ref), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.G, cpg, d.lr, d.up, r, bias ? d.bias : nullptr, d.y);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y0.data(), d.y, y0.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(K_(wg), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.G, cpg, d.lr, d.up, r, bias ? d.bias : nullptr, d.y);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y1.data(), d.y, y1.size() * 4, cudaMemcpyDeviceToHost));
    long diff = 0, first = -1;
    for (size_t i = 0; i < y0.size(); i++) if (memcmp(&y0[i], &y1[i], 4)) { if (first < 0) first = i; diff++; }
    // BF16 output: the round-to-nearest-even of the F32 output, bit for bit
    std::vector<uint16_t> yb((size_t)M * N);
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(K_(wg), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.G, cpg, d.lr, d.up, r, bias ? d.bias : nullptr, d.y, 1);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(yb.data(), d.y, yb.size() * 2, cudaMemcpyDeviceToHost));
    long bfBad = 0;
    for (size_t i = 0; i < yb.size(); i++) bfBad += yb[i] != f2bf(y0[i]);
    diff += bfBad;
    long hostBad = 0, hostN = 0;
    if (r == 0 && !bias) {   // host: per group int sum, facc += ((float)acc * sa) * sw, then * unpackScale
        size_t rb = (size_t)Kpad * bits / 8;
        for (int m = 0; m < M; m += std::max(1, M / 8)) {
            for (int n = 0; n < N; n += (N > 1024 ? 7 : 1)) {
                volatile float f = 0.0f;
                for (int g = 0; g < d.G; g++) {
                    long acc = 0;
                    for (int k = g * 64; k < g * 64 + 64; k++) acc += (long)code(d.ha, rb, m, k, bits) * code(d.hw, rb, n, k, bits);
                    if (bits == 4) acc *= 256;
                    volatile float p = (float)(int)acc; p = p * d.hsa[(size_t)m * d.G + g]; p = p * d.hsw[(size_t)n * d.G + g];
                    f = f + p;
                }
                if (bits == 4) f = f * (1.0f / 256.0f);
                float g1 = y1[(size_t)m * N + n];
                hostBad += memcmp((const void*)&f, &g1, 4) != 0; hostN++;
            }
        }
    }
    bool ok = diff == 0 && hostBad == 0;
    printf("check %-16s vs %-12s M=%d N=%d Kpad=%d r=%d bias=%d cpg=%d: %ld of %zu differ (BF16 out %ld), host %ld/%ld -> %s\n",
           wg, ref, M, N, Kpad, r, bias, cpg, diff, y0.size(), bfBad,
           hostBad, hostN, ok ? "OK" : "FAIL");
    release(d);
    return ok;
}

// CUDA events around 10 back-to-back launches, median of 40 samples, activations rotated over sets
static float timeit(Kern& k, int M, int N, int Kpad, int bits, int r, std::mt19937& rng) {
    int nsets = (int)std::min(32L, std::max(2L, (200L << 20) / ((long)M * Kpad * bits / 8) + 1));
    Data d0 = make(M, N, Kpad, bits, r, rng);
    std::vector<uint8_t*> as;
    for (int i = 0; i < nsets; i++) {
        uint8_t* a; size_t sz = (size_t)M * Kpad * bits / 8;
        CK(cudaMalloc(&a, sz)); CK(cudaMemcpy(a, d0.ha.data(), sz, cudaMemcpyHostToDevice)); as.push_back(a);
    }
    int cpg = bits == 8 ? -2 : -1;
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    int it = 0;
    for (int i = 0; i < 5; i++) launch(k, as[it++ % nsets], d0.w, M, N, Kpad, d0.sa, d0.sw, d0.G, cpg, d0.lr, d0.up, r, d0.bias, d0.y);
    CK(cudaGetLastError());
    std::vector<float> t;
    for (int s = 0; s < 40; s++) {
        cudaEventRecord(e0);
        for (int i = 0; i < 10; i++) launch(k, as[it++ % nsets], d0.w, M, N, Kpad, d0.sa, d0.sw, d0.G, cpg, d0.lr, d0.up, r, d0.bias, d0.y);
        cudaEventRecord(e1); cudaEventSynchronize(e1);
        float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms * 1000 / 10);
    }
    CK(cudaGetLastError());
    for (auto a : as) cudaFree(a);
    release(d0);
    return median(t);
}

int main(int argc, char** argv) {
    bool bench = argc > 1 && !strcmp(argv[1], "bench");
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0));
    printf("device %s, %d SMs, cc %d.%d\n", p.name, p.multiProcessorCount, p.major, p.minor);
    g_sms = p.multiProcessorCount;
    for (auto& k : kernels) CK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem));
    std::mt19937 rng(11);
    int fails = 0;
    const char* pairs[][2] = {{"k_gemm_i4_g", "k_wgmma_i4_g"}, {"k_gemm_i8_g", "k_wgmma_i8_g"},
                              {"k_gemm_i4_g", "k_wgmma_i4_g_pc1"}, {"k_gemm_i8_g", "k_wgmma_i8_g_pc1"},
                              {"k_gemm_i4_g", "k_wgmma_i4_g_c1"}, {"k_gemm_i4_g", "k_wgmma_i4_g_c3"},
                              {"k_gemm_i4_g", "k_wgmma_i4_g_c4"}};
    for (auto& pr : pairs) {
        bool i8 = strstr(pr[0], "i8") != nullptr;
        for (bool fast : {true, false}) {
            fails += !check(pr[0], pr[1], 512, 512, i8 ? 384 : 512, 0, false, fast, rng);
            fails += !check(pr[0], pr[1], 300, 200, i8 ? 384 : 768, 32, true, fast, rng);
            fails += !check(pr[0], pr[1], 1000, 4608, 1152 + (i8 ? 0 : 128), 16, false, fast, rng);
            if (!fast) continue;
            fails += !check(pr[0], pr[1], 4096, 3072, 3072, 32, true, fast, rng);
            fails += !check(pr[0], pr[1], 4096, 3072, 3072, 0, false, fast, rng);
            fails += !check(pr[0], pr[1], 77, 12288, 1024, 64, true, fast, rng);
            fails += !check(pr[0], pr[1], 129, 130, 256, 48, true, fast, rng);
        }
    }
    printf("checks: %d failed\n", fails);
    if (!bench) return fails ? 1 : 0;
    int shapes[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    for (auto& s : shapes) {
        for (int M : {256, 1024, 4096}) {
            int K = s[0], N = s[1];
            for (int bits : {4, 8}) {
                if (bits == 8 && !(M == 4096 && K == 3072 && N == 3072)) continue;
                int Kpad = (K + 255) / 256 * 256;
                std::vector<const char*> names = {bits == 8 ? "k_gemm_i8_g" : "k_gemm_i4_g", bits == 8 ? "k_wgmma_i8_g" : "k_wgmma_i4_g"};
                if (M == 4096 && K == 3072 && N == 3072) {
                    names.push_back(bits == 8 ? "k_wgmma_i8_g_pc1" : "k_wgmma_i4_g_pc1");
                    if (bits == 4) for (auto v : {"k_wgmma_i4_g_c1", "k_wgmma_i4_g_c3", "k_wgmma_i4_g_c4"}) names.push_back(v);
                }
                for (int r : {32, 0}) {
                    if (r == 0 && !(M == 4096 && K == 3072 && N == 3072)) continue;
                    printf("RESULT grouped g64 M=%d K=%d N=%d W%dA%d r=%d bias=1", M, K, N, bits, bits, r);
                    for (auto n : names) {
                        float us = timeit(K_(n), M, N, Kpad, bits, r, rng);
                        printf("  %s %.2f us %.0f TOPS", n, us, 2.0 * M * N * K / us / 1e6);
                    }
                    printf("\n");
                }
            }
        }
    }
    return fails ? 1 : 0;
}
