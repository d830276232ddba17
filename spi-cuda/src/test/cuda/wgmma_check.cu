// Standalone check and timing of the sm_90a wgmma GEMM (nibble_wgmma.cu) against the mma.sync GEMM
// (nibble_fused.cu, the path the conformance kit validated) and a host int32 reference:
//   nvcc -O3 -std=c++17 --fmad=false -arch=sm_90a -o wgmma_check wgmma_check.cu && ./wgmma_check [bench|quick|pp]
// Exactness: the two kernels' F32 outputs must be bit-identical (same int32 sums, same epilogue
// arithmetic), and sampled rows must match a host reference computed the same way bit for bit.
#include "../../main/cuda/nibble_ops.cu"
#include "../../main/cuda/nibble_fused.cu"
#include "../../main/cuda/nibble_wgmma.cu"
#include "wgmma_pingpong.cuh"   // experimental ping-pong variant (test-side only)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
#include <random>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(2); } } while (0)

typedef void (*GemmFn)(const uint8_t*, const uint8_t*, int, int, int, const float*, const float*, int, int,
                       const void*, const void*, int, int, const float*, float*);

// wg: 0 the mma.sync GEMM (2D grid), 1 wgmma persistent (one block per SM), 2 wgmma one block per tile
struct Kern { const char* name; GemmFn fn; int bn; int smem; int wg; int threads = 256; };
static int g_sms = 132;
static Kern kernels[] = {
    {"k_gemm_i8", k_gemm_i8, 128, GEMM_SMEM, 0}, {"k_gemm_i4", k_gemm_i4, 128, GEMM_SMEM, 0},
    {"k_wgmma_i8", k_wgmma_i8, 256, WGMMA_SMEM_I8, 1}, {"k_wgmma_i4", k_wgmma_i4, 256, WGMMA_SMEM_I4, 1},
    {"k_wgmma_i8_n128", k_wgmma_i8_n128, 128, WGMMA_SMEM_I8_N128, 1}, {"k_wgmma_i4_n128", k_wgmma_i4_n128, 128, WGMMA_SMEM_I4_N128, 1},
    {"k_wgmma_i8_np", k_wgmma_i8, 256, WGMMA_SMEM_I8, 2}, {"k_wgmma_i4_np", k_wgmma_i4, 256, WGMMA_SMEM_I4, 2},
    {"k_wgmma_pp_i8", k_wgmma_pp_i8, 128, WGMMA_PP_SMEM_I8, 1, WGMMA_PP_THREADS_I8},
    {"k_wgmma_pp_i4", k_wgmma_pp_i4, 128, WGMMA_PP_SMEM_I4, 1, WGMMA_PP_THREADS_I4},
};
static Kern& K_(const char* n) { for (auto& k : kernels) if (!strcmp(k.name, n)) return k; printf("no %s\n", n); exit(2); }

static void launch(Kern& k, const uint8_t* a, const uint8_t* w, int M, int N, int Kpad, const float* sa, const float* sw,
                   const void* lr, const void* up, int r, const float* bias, float* y) {
    int tiles = ((N + k.bn - 1) / k.bn) * ((M + 127) / 128);
    dim3 grid = k.wg == 0 ? dim3((N + k.bn - 1) / k.bn, (M + 127) / 128) : dim3(k.wg == 1 ? std::min(tiles, g_sms) : tiles);
    k.fn<<<grid, k.threads, k.smem>>>(a, w, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y);
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16); }

struct Data { int M, N, Kpad, bits, r; uint8_t *a, *w; float *sa, *sw, *bias, *y; uint16_t *lr, *up; std::vector<uint8_t> ha, hw; std::vector<float> hsa, hsw; };

static Data make(int M, int N, int Kpad, int bits, int r, std::mt19937& rng) {
    Data d{M, N, Kpad, bits, r};
    size_t ra = (size_t)Kpad * bits / 8;
    d.ha.resize((size_t)M * ra); d.hw.resize((size_t)N * ra);
    for (auto& b : d.ha) b = rng() & 0xFF;
    for (auto& b : d.hw) b = rng() & 0xFF;
    std::uniform_real_distribution<float> us(0.001f, 0.02f), ub(-1.0f, 1.0f);
    d.hsa.resize(M); d.hsw.resize(N);
    for (auto& v : d.hsa) v = us(rng);
    for (auto& v : d.hsw) v = us(rng);
    std::vector<float> bias(N); for (auto& v : bias) v = ub(rng);
    std::vector<uint16_t> lr((size_t)M * 2 * std::max(r, 1)), up((size_t)N * std::max(r, 1));
    for (auto& v : lr) v = f2bf(ub(rng)); for (auto& v : up) v = f2bf(ub(rng));
    CK(cudaMalloc(&d.a, d.ha.size())); CK(cudaMalloc(&d.w, d.hw.size()));
    CK(cudaMalloc(&d.sa, M * 4)); CK(cudaMalloc(&d.sw, N * 4)); CK(cudaMalloc(&d.bias, N * 4));
    CK(cudaMalloc(&d.y, (size_t)M * N * 4)); CK(cudaMalloc(&d.lr, lr.size() * 2)); CK(cudaMalloc(&d.up, up.size() * 2));
    CK(cudaMemcpy(d.a, d.ha.data(), d.ha.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.w, d.hw.data(), d.hw.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.sa, d.hsa.data(), M * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.sw, d.hsw.data(), N * 4, cudaMemcpyHostToDevice));
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

// one shape: reference kernel vs wgmma kernel, bit for bit; plus sampled host rows (r = 0, no bias)
static bool check(const char* ref, const char* wg, int M, int N, int Kpad, int r, bool bias, std::mt19937& rng) {
    int bits = strstr(ref, "i8") ? 8 : 4;
    Data d = make(M, N, Kpad, bits, r, rng);
    std::vector<float> y0((size_t)M * N), y1((size_t)M * N);
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(K_(ref), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.lr, d.up, r, bias ? d.bias : nullptr, d.y);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y0.data(), d.y, y0.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(K_(wg), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.lr, d.up, r, bias ? d.bias : nullptr, d.y);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y1.data(), d.y, y1.size() * 4, cudaMemcpyDeviceToHost));
    long diff = 0, first = -1;
    for (size_t i = 0; i < y0.size(); i++) if (memcmp(&y0[i], &y1[i], 4)) { if (first < 0) first = i; diff++; }
    long hostBad = 0, hostN = 0;
    if (r == 0 && !bias) {
        size_t rb = (size_t)Kpad * bits / 8;
        float u = bits == 4 ? 1.0f / 256.0f : 1.0f;
        for (int m = 0; m < M; m += std::max(1, M / 24)) {
            for (int n = 0; n < N; n++) {
                long acc = 0;
                for (int k = 0; k < Kpad; k++) acc += (long)code(d.ha, rb, m, k, bits) * code(d.hw, rb, n, k, bits);
                if (bits == 4) acc *= 256;
                volatile float v = (float)(int)acc; v = v * u; v = v * d.hsa[m]; v = v * d.hsw[n];
                float g = y1[(size_t)m * N + n];
                hostBad += memcmp((const void*)&v, &g, 4) != 0; hostN++;
            }
        }
    }
    bool ok = diff == 0 && hostBad == 0;
    printf("check %-16s vs %-10s M=%d N=%d Kpad=%d r=%d bias=%d: %ld of %zu differ (first %ld: %g vs %g), host %ld/%ld -> %s\n",
           wg, ref, M, N, Kpad, r, bias, diff, y0.size(), first, first >= 0 ? y0[first] : 0.0, first >= 0 ? y1[first] : 0.0,
           hostBad, hostN, ok ? "OK" : "FAIL");
    release(d);
    return ok;
}

// CUDA events around 10 back-to-back launches, median of 40 samples, activations rotated over sets
static float timeit(Kern& k, int M, int N, int Kpad, int bits, int r, std::mt19937& rng) {
    int nsets = (int)std::min(32L, std::max(2L, (200L << 20) / ((long)M * Kpad * bits / 8) + 1));
    std::vector<Data> ds;
    Data d0 = make(M, N, Kpad, bits, r, rng);
    std::vector<uint8_t*> as;
    for (int i = 0; i < nsets; i++) {
        uint8_t* a; size_t sz = (size_t)M * Kpad * bits / 8;
        CK(cudaMalloc(&a, sz)); CK(cudaMemcpy(a, d0.ha.data(), sz, cudaMemcpyHostToDevice)); as.push_back(a);
    }
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    int it = 0;
    for (int i = 0; i < 5; i++) launch(k, as[it++ % nsets], d0.w, M, N, Kpad, d0.sa, d0.sw, d0.lr, d0.up, r, d0.bias, d0.y);
    CK(cudaGetLastError());
    std::vector<float> t;
    for (int s = 0; s < 40; s++) {
        cudaEventRecord(e0);
        for (int i = 0; i < 10; i++) launch(k, as[it++ % nsets], d0.w, M, N, Kpad, d0.sa, d0.sw, d0.lr, d0.up, r, d0.bias, d0.y);
        cudaEventRecord(e1); cudaEventSynchronize(e1);
        float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms * 1000 / 10);
    }
    CK(cudaGetLastError());
    for (auto a : as) cudaFree(a);
    release(d0);
    return median(t);
}

// peak of back-to-back m64n256k32 wgmma from shared memory (no loads), 2 warpgroups per SM
__global__ void __launch_bounds__(256, 1) k_wgmma_peak(int* out, int iters) {
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (nwg::saddr(dsm) + 1023u) & ~1023u;
    int acc[128];
    for (int i = 0; i < 128; i++) acc[i] = 0;
    const uint64_t da = nwg::desc(s0 + (threadIdx.x >> 7) * 8192), db = nwg::desc(s0 + 16384);
    for (int i = 0; i < iters; i++) {
        nwg::wg_arrive();
#pragma unroll
        for (int kk = 0; kk < 4; kk++) nwg::wgmma_n256(acc, da + 2 * kk, db + 2 * kk);
        nwg::wg_commit();
        nwg::wg_wait<1>();
    }
    nwg::wg_wait<0>();
    int s = 0; for (int i = 0; i < 128; i++) s += acc[i];
    if (s == 0x7fffffff) out[0] = s;
}

int main(int argc, char** argv) {
    bool bench = argc > 1 && (!strcmp(argv[1], "bench") || !strcmp(argv[1], "quick"));
    bool quick = argc > 1 && !strcmp(argv[1], "quick");   // timing of the 4096-row shapes only
    if (argc > 1 && !strcmp(argv[1], "pp")) {   // the ping-pong kernels only: checks, then M=4096 K=N=3072 timings
        setvbuf(stdout, nullptr, _IOLBF, 0);
        cudaDeviceProp q; CK(cudaGetDeviceProperties(&q, 0));
        printf("device %s, %d SMs, cc %d.%d\n", q.name, q.multiProcessorCount, q.major, q.minor);
        g_sms = q.multiProcessorCount;
        for (auto& k : kernels) CK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem));
        std::mt19937 rng(7);
        int fails = 0;
        fails += !check("k_gemm_i8", "k_wgmma_pp_i8", 512, 512, 384, 0, false, rng);
        fails += !check("k_gemm_i8", "k_wgmma_pp_i8", 4096, 3072, 3072, 0, true, rng);
        fails += !check("k_gemm_i4", "k_wgmma_pp_i4", 512, 512, 512, 0, false, rng);
        fails += !check("k_gemm_i4", "k_wgmma_pp_i4", 4096, 3072, 3072, 0, true, rng);
        fails += !check("k_gemm_i8", "k_wgmma_pp_i8", 1000, 4608, 1152, 16, true, rng);
        printf("checks: %d failed\n", fails);
        if (fails) return 1;
        for (const char* kn : {"k_wgmma_i8", "k_wgmma_pp_i8", "k_wgmma_i4", "k_wgmma_pp_i4"}) {
            int bits = strstr(kn, "i8") ? 8 : 4;
            float us = timeit(K_(kn), 4096, 3072, 3072, bits, 0, rng);
            printf("RESULT M=4096 K=3072 N=3072 %s %.2f us %.0f TOPS\n", kn, us, 2.0 * 4096 * 3072 * 3072 / us / 1e6);
        }
        return 0;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0));
    printf("device %s, %d SMs, cc %d.%d\n", p.name, p.multiProcessorCount, p.major, p.minor);
    g_sms = p.multiProcessorCount;
    for (auto& k : kernels) CK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem));
    CK(cudaFuncSetAttribute(k_wgmma_peak, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
    std::mt19937 rng(7);
    int fails = 0;
    const char* pairs[][2] = {{"k_gemm_i8", "k_wgmma_i8"}, {"k_gemm_i8", "k_wgmma_i8_n128"},
                              {"k_gemm_i4", "k_wgmma_i4"}, {"k_gemm_i4", "k_wgmma_i4_n128"},
                              {"k_gemm_i8", "k_wgmma_i8_np"}, {"k_gemm_i8", "k_wgmma_pp_i8"}, {"k_gemm_i4", "k_wgmma_pp_i4"}};
    for (auto& pr : pairs) {
        bool i8 = strstr(pr[0], "i8") != nullptr;
        fails += !check(pr[0], pr[1], 512, 512, i8 ? 384 : 512, 0, false, rng);
        fails += !check(pr[0], pr[1], 300, 200, i8 ? 384 : 768, 32, true, rng);
        fails += !check(pr[0], pr[1], 4096, 3072, 3072, 0, true, rng);
        fails += !check(pr[0], pr[1], 1000, 4608, 1152 + (i8 ? 0 : 128), 16, false, rng);
        fails += !check(pr[0], pr[1], 77, 12288, 1024, 64, true, rng);
    }
    printf("checks: %d failed\n", fails);
    if (!bench) return fails ? 1 : 0;
    {
        int* o; CK(cudaMalloc(&o, 4));
        int iters = 20000, blocks = p.multiProcessorCount;
        cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
        k_wgmma_peak<<<blocks, 256, 64 * 1024>>>(o, 100); CK(cudaGetLastError());
        std::vector<float> t;
        for (int s = 0; s < 5; s++) {
            cudaEventRecord(e0); k_wgmma_peak<<<blocks, 256, 64 * 1024>>>(o, iters); cudaEventRecord(e1); cudaEventSynchronize(e1);
            float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms);
        }
        CK(cudaGetLastError());
        double ops = 2.0 * 64 * 256 * 32 * 4 * 2 * (double)iters * blocks;
        printf("peak wgmma m64n256k32 s8: %.1f TOPS\n", ops / (median(t) * 1e-3) / 1e12);
    }
    int shapes[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    for (auto& s : shapes) {
        for (int M : {256, 1024, 4096}) {
            int K = s[0], N = s[1];
            if (quick && (M != 4096 || K == 1152) && !(M == 1024 && K == 3072 && N == 3072)) continue;
            for (int bits : {8, 4}) {
                int Kpad = (K + (bits == 4 ? 255 : 127)) / (bits == 4 ? 256 : 128) * (bits == 4 ? 256 : 128);
                std::vector<const char*> names = {bits == 8 ? "k_gemm_i8" : "k_gemm_i4", bits == 8 ? "k_wgmma_i8" : "k_wgmma_i4",
                                       bits == 8 ? "k_wgmma_i8_n128" : "k_wgmma_i4_n128"};
                if (quick) names.pop_back();
                else names.push_back(bits == 8 ? "k_wgmma_i8_np" : "k_wgmma_i4_np");
                names.push_back(bits == 8 ? "k_wgmma_pp_i8" : "k_wgmma_pp_i4");
                printf("RESULT M=%d K=%d N=%d W%dA%d", M, K, N, bits, bits);
                for (auto n : names) {
                    float us = timeit(K_(n), M, N, Kpad, bits, 0, rng);
                    printf("  %s %.2f us %.0f TOPS", n, us, 2.0 * M * N * K / us / 1e6);
                }
                if (M == 4096 && K == 3072 && N == 3072) {
                    for (const char* kn : {bits == 8 ? "k_wgmma_i8" : "k_wgmma_i4", bits == 8 ? "k_wgmma_pp_i8" : "k_wgmma_pp_i4"}) {
                        float us = timeit(K_(kn), M, N, Kpad, bits, 32, rng);
                        printf("  %s+lr32 %.2f us", kn, us);
                        for (int kp : {128, 256, 1024, 12288})   // fixed cost per tile vs K
                            if (!quick || kp == 128) printf("  Kpad=%d %.2f us", kp, timeit(K_(kn), M, N, kp < 256 && bits == 4 ? 256 : kp, bits, 0, rng));
                    }
                }
                printf("\n");
            }
        }
    }
    return fails ? 1 : 0;
}
