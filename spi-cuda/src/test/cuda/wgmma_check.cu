// Standalone check and timing of the sm_90a wgmma GEMM (nibble_wgmma.cu) against the mma.sync GEMM
// (nibble_fused.cu, the path the conformance kit validated) and a host int32 reference:
//   nvcc -O3 -std=c++17 --fmad=false -arch=sm_90a -o wgmma_check wgmma_check.cu && ./wgmma_check [bench|quick|pp|t|t4|prof K...]
// (bench: checks, then GEMM timings at all harness shapes; quick: M = 4096 only; pp: the ping-pong experiment;
// t: the tiled-operand kernels only; t4: checks of every tiled kernel (INT8 and packed INT4 W, 128 x 256 and
// 128 x 128 tiles), then timings against the untiled kernels at M in {256, 1024, 4096} x 4 shapes;
// prof K...: one BF16 launch of each named kernel at 4096 x 3072 x 3072, for ncu)
// Exactness: the two kernels' F32 outputs must be bit-identical (same int32 sums, same epilogue
// arithmetic), and sampled rows must match a host reference computed the same way bit for bit. BF16
// outputs (yBf16 = 1) of both kernels must equal the round-to-nearest-even of the F32 output, bit for bit.
// k_wgmma_i4w* take the activation codes as INT8 bytes (the packed INT4 codes unpacked on the host).
#include "../../main/cuda/nibble_ops.cu"
#include "../../main/cuda/nibble_fused.cu"
#include "../../main/cuda/nibble_wgmma.cu"
#include "wgmma_pingpong.cuh"   // experimental ping-pong variant (test-side only)
#include "wgmma_tp.cuh"         // experimental ping-pong on the tiled operands, the wgmma shape micro-benchmark
// k_wgmma_i8_t (tiled operands): the configurations measured
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t2(WG_ARGS) {   // 3 stages of 128 bytes of K
    nwt::body<3, true, 128>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t3(WG_ARGS) {   // 6 stages of 64 bytes of K
    nwt::body<6, true, 64>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}
#define WGMMA_T2_SMEM (nwt::T<3, true, 128>::SMEM)
#define WGMMA_T3_SMEM (nwt::T<6, true, 64>::SMEM)
// stage counts of the tiled 128 x 128 kernels and of the packed INT4 W kernels (measured)
#define TV(name, S, TBN, W4) extern "C" __global__ void __launch_bounds__(384, 1) name(WG_ARGS) { \
    nwt::body<S, true, 64, TBN, W4>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16); }
TV(k_wgmma_i8_t_n128s6, 6, 128, false)
TV(k_wgmma_i8_t_n128s11, 11, 128, false)
TV(k_wgmma_i4w_t_s3, 3, 256, true)   // with the BF16 bulk stores
TV(k_wgmma_i4w_t_n128s6, 6, 128, true)
TV(k_wgmma_i4w_t_n128s9, 9, 128, true)
// the packed INT4 W kernel with the BF16 bulk stores (4 stages fit)
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i4w_t_bulk4(WG_ARGS) {
    nwt::body<4, true, 64, 256, true>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16); }

// variants of the per-row kernel (test-side): PRE = epilogue operands prefetched with the first stage;
// b64 = 64-byte stages (8 in the ring, 6 loaded ahead)
#define WGV(name, MODE, BN, BK, PRE) extern "C" __global__ void __launch_bounds__(256, 1) name(WG_ARGS) { \
    nwg::body<MODE, BN, BK, PRE>(WG_PASS); }
WGV(k_wgmma_i8_pre, 0, 256, 128, true)
WGV(k_wgmma_i8_b64, 0, 256, 64, false)
WGV(k_wgmma_i8_b64pre, 0, 256, 64, true)
WGV(k_wgmma_i4w_pre, 2, 256, 128, true)
WGV(k_wgmma_i8_n128_b64pre, 0, 128, 64, true)
// two blocks per SM: 128 x 128 tiles, 3 stages of 128 bytes of K (one loaded ahead), 64 accumulators
extern "C" __global__ void __launch_bounds__(256, 2) k_wgmma_i8_n128x2(WG_ARGS) { nwg::body<0, 128, 128, true, 3>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) k_wgmma_i8_n128x2np(WG_ARGS) { nwg::body<0, 128, 128, false, 3>(WG_PASS); }
// 192 x 256 tiles, three warpgroups (384 threads): 4 stages, or 3 with the epilogue operands prefetched
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_m192(WG_ARGS) { nwg::body<0, 256, 128, false, 4, 192>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_m192pre(WG_ARGS) { nwg::body<0, 256, 128, true, 3, 192>(WG_PASS); }
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
#include <random>
#include <array>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(2); } } while (0)

typedef void (*GemmFn)(const uint8_t*, const uint8_t*, int, int, int, const float*, const float*, int, int,
                       const void*, const void*, int, int, const float*, void*, int);

// wg: 0 the mma.sync GEMM (2D grid), 1 wgmma persistent (one block per SM), 2 wgmma one block per tile
// a8: A is INT8 bytes holding 4-bit codes (k_wgmma_i4w*)
// tiled: 0 row-major operands; 1 tiled with 128-byte K segments; 2 tiled with 64-byte K segments;
// 3: A tiled as 2 (4-bit codes one per byte), W packed INT4 tiled (k_wgmma_i4w_t*)
struct Kern { const char* name; GemmFn fn; int bn; int smem; int wg; int threads = 256; bool a8 = false; int bm = 128; int tiled = 0; };
static int g_sms = 132;
static Kern kernels[] = {
    {"k_gemm_i8", k_gemm_i8, 128, GEMM_SMEM, 0}, {"k_gemm_i4", k_gemm_i4, 128, GEMM_SMEM, 0},
    {"k_wgmma_i8", k_wgmma_i8, 256, WGMMA_SMEM_I8, 1}, {"k_wgmma_i4", k_wgmma_i4, 256, WGMMA_SMEM_I4, 1},
    {"k_wgmma_i8_n128", k_wgmma_i8_n128, 128, WGMMA_SMEM_I8_N128, 1}, {"k_wgmma_i4_n128", k_wgmma_i4_n128, 128, WGMMA_SMEM_I4_N128, 1},
    {"k_wgmma_i8_np", k_wgmma_i8, 256, WGMMA_SMEM_I8, 2}, {"k_wgmma_i4_np", k_wgmma_i4, 256, WGMMA_SMEM_I4, 2},
    {"k_wgmma_i4w", k_wgmma_i4w, 256, WGMMA_SMEM_I4W, 1, 256, true},
    {"k_wgmma_i4w_n128", k_wgmma_i4w_n128, 128, WGMMA_SMEM_I4W_N128, 1, 256, true},
    {"k_wgmma_i8_pre", k_wgmma_i8_pre, 256, nwg::Cfg<0, 256, 128, true>::SMEM, 1},
    {"k_wgmma_i8_b64", k_wgmma_i8_b64, 256, nwg::Cfg<0, 256, 64, false>::SMEM, 1},
    {"k_wgmma_i8_b64pre", k_wgmma_i8_b64pre, 256, nwg::Cfg<0, 256, 64, true>::SMEM, 1},
    {"k_wgmma_i4w_pre", k_wgmma_i4w_pre, 256, nwg::Cfg<2, 256, 128, true>::SMEM, 1, 256, true},
    {"k_wgmma_i8_n128_b64pre", k_wgmma_i8_n128_b64pre, 128, nwg::Cfg<0, 128, 64, true>::SMEM, 1},
    {"k_wgmma_i8_n128x2", k_wgmma_i8_n128x2, 128, nwg::Cfg<0, 128, 128, true, 3>::SMEM, 3},
    {"k_wgmma_i8_n128x2np", k_wgmma_i8_n128x2np, 128, nwg::Cfg<0, 128, 128, false, 3>::SMEM, 3},
    {"k_wgmma_i8_m192", k_wgmma_i8_m192, 256, nwg::Cfg<0, 256, 128, false, 4, 192>::SMEM, 1, 384, false, 192},
    {"k_wgmma_i8_m192pre", k_wgmma_i8_m192pre, 256, nwg::Cfg<0, 256, 128, true, 3, 192>::SMEM, 1, 384, false, 192},
    {"k_wgmma_i8_t", k_wgmma_i8_t, 256, WGMMA_T_SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i8_t2", k_wgmma_i8_t2, 256, WGMMA_T2_SMEM, 1, 384, false, 128, 1},
    {"k_wgmma_i8_t3", k_wgmma_i8_t3, 256, WGMMA_T3_SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i8_t_n128", k_wgmma_i8_t_n128, 128, WGMMA_T_N128_SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i8_tp", k_wgmma_i8_tp, 128, WGMMA_TP_SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i4w_t", k_wgmma_i4w_t, 256, WGMMA_I4W_T_SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_i4w_t_n128", k_wgmma_i4w_t_n128, 128, WGMMA_I4W_T_N128_SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_i8_t_n128s6", k_wgmma_i8_t_n128s6, 128, nwt::T<6, true, 64, 128>::SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i8_t_n128s11", k_wgmma_i8_t_n128s11, 128, nwt::T<11, true, 64, 128>::SMEM, 1, 384, false, 128, 2},
    {"k_wgmma_i4w_t_s3", k_wgmma_i4w_t_s3, 256, nwt::T<3, true, 64, 256, true>::SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_i4w_t_bulk4", k_wgmma_i4w_t_bulk4, 256, nwt::T<4, true, 64, 256, true>::SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_i4w_t_n128s6", k_wgmma_i4w_t_n128s6, 128, nwt::T<6, true, 64, 128, true>::SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_i4w_t_n128s9", k_wgmma_i4w_t_n128s9, 128, nwt::T<9, true, 64, 128, true>::SMEM, 1, 384, false, 128, 3},
    {"k_wgmma_pp_i8", k_wgmma_pp_i8, 128, WGMMA_PP_SMEM_I8, 1, WGMMA_PP_THREADS_I8},
    {"k_wgmma_pp_i4", k_wgmma_pp_i4, 128, WGMMA_PP_SMEM_I4, 1, WGMMA_PP_THREADS_I4},
};
static Kern& K_(const char* n) { for (auto& k : kernels) if (!strcmp(k.name, n)) return k; printf("no %s\n", n); exit(2); }

static void launch(Kern& k, const uint8_t* a, const uint8_t* w, int M, int N, int Kpad, const float* sa, const float* sw,
                   const void* lr, const void* up, int r, const float* bias, void* y, int yBf16 = 0) {
    int tiles = ((N + k.bn - 1) / k.bn) * ((M + k.bm - 1) / k.bm);
    // wg 3: persistent, two blocks per SM
    dim3 grid = k.wg == 0 ? dim3((N + k.bn - 1) / k.bn, (M + 127) / 128)
                          : dim3(k.wg == 1 ? std::min(tiles, g_sms) : k.wg == 3 ? std::min(tiles, 2 * g_sms) : tiles);
    k.fn<<<grid, k.threads, k.smem>>>(a, w, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yBf16);
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16); }

// [ceil(rows/TR)][Kpad/128][TR][128]: each 128-byte row segment with its 16-byte chunks in the wgmma 128-byte swizzle
// TK = 64: [ceil(rows/TR)][Kpad/64][TR][64], chunk c of row r at c ^ ((r >> 1) & 3) (64-byte swizzle)
// TR = 256 (W): compact, the last block holds the remaining rows rounded up to 8 (nwg::wblock_rows)
static int wrows(int N, int b) { int r = N - b * 256; return r >= 256 ? 256 : (r + 7) & ~7; }
static std::vector<uint8_t> tiled(const std::vector<uint8_t>& src, int rows, int Kpad, int TR, int TK = 128) {
    int RB = (rows + TR - 1) / TR, KT = Kpad / TK, CH = TK / 16;
    std::vector<uint8_t> o((size_t)RB * TR * Kpad, 0);
    for (int r = 0; r < rows; r++) {
        const int br = TR == 256 ? wrows(rows, r / TR) : TR;
        for (int kt = 0; kt < KT; kt++)
            for (int c = 0; c < CH; c++) {
                int cs = TK == 128 ? (c ^ (r & 7)) : (c ^ ((r >> 1) & 3));
                memcpy(&o[(size_t)(r / TR) * KT * TR * TK + ((size_t)kt * br + r % TR) * TK + (size_t)cs * 16],
                       &src[(size_t)r * Kpad + (size_t)kt * TK + c * 16], 16);
            }
    }
    return o;
}
// packed INT4 W ([rows][Kpad/2], canonical packing) tiled for k_wgmma_i4w_t*: 256-row blocks of [Kpad/64][rows][32] (compact
// last block), row segment (n, kt) = packed bytes 32kt..32kt+31 of row n (codes 64kt..64kt+63), no swizzle
static std::vector<uint8_t> tiledPacked4(const std::vector<uint8_t>& src, int rows, int Kpad) {
    int RB = (rows + 255) / 256, KT = Kpad / 64;
    std::vector<uint8_t> o((size_t)RB * 256 * Kpad / 2, 0);
    for (int r = 0; r < rows; r++)
        for (int kt = 0; kt < KT; kt++)
            memcpy(&o[(size_t)(r / 256) * KT * 256 * 32 + ((size_t)kt * wrows(rows, r / 256) + r % 256) * 32],
                   &src[(size_t)r * Kpad / 2 + (size_t)kt * 32], 32);
    return o;
}
struct Data { int M, N, Kpad, bits, r; uint8_t *a, *w, *a8 = nullptr, *at[4] = {}, *wt[4] = {}; size_t atBytes = 0; float *sa, *sw, *bias, *y; uint16_t *lr, *up; std::vector<uint8_t> ha, hw; std::vector<float> hsa, hsw; };

static Data make(int M, int N, int Kpad, int bits, int r, std::mt19937& rng) {
    Data d{M, N, Kpad, bits, r};
    size_t ra = (size_t)Kpad * bits / 8;
    d.ha.resize((size_t)M * ra); d.hw.resize((size_t)N * ra);
    for (size_t i = 0; i < d.ha.size(); i += 4) { uint32_t v = rng(); for (size_t j = i; j < std::min(i + 4, d.ha.size()); j++, v >>= 8) d.ha[j] = v & 0xFF; }
    for (size_t i = 0; i < d.hw.size(); i += 4) { uint32_t v = rng(); for (size_t j = i; j < std::min(i + 4, d.hw.size()); j++, v >>= 8) d.hw[j] = v & 0xFF; }
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
    if (bits == 8) {   // the tiled, pre-swizzled copies k_wgmma_i8_t reads
        for (int v = 1; v <= 2; v++) {
            std::vector<uint8_t> at = tiled(d.ha, M, Kpad, 128, v == 1 ? 128 : 64), wt = tiled(d.hw, N, Kpad, 256, v == 1 ? 128 : 64);
            d.atBytes = at.size();
            CK(cudaMalloc(&d.at[v], at.size())); CK(cudaMemcpy(d.at[v], at.data(), at.size(), cudaMemcpyHostToDevice));
            CK(cudaMalloc(&d.wt[v], wt.size())); CK(cudaMemcpy(d.wt[v], wt.data(), wt.size(), cudaMemcpyHostToDevice));
        }
    }
    if (bits == 4) {   // the same codes one per byte (values -8..7), as k_tq2 writes them with bits=8, qmin=-8, qmax=7
        std::vector<uint8_t> a8((size_t)M * Kpad);
        for (size_t i = 0; i < d.ha.size(); i++) {
            int lo = d.ha[i] & 0xF, hi = d.ha[i] >> 4;
            a8[2 * i] = (uint8_t)(lo >= 8 ? lo - 16 : lo); a8[2 * i + 1] = (uint8_t)(hi >= 8 ? hi - 16 : hi);
        }
        CK(cudaMalloc(&d.a8, a8.size())); CK(cudaMemcpy(d.a8, a8.data(), a8.size(), cudaMemcpyHostToDevice));
        // k_wgmma_i4w_t*: A tiled (64-byte segments) from the bytes, W packed tiled
        std::vector<uint8_t> at = tiled(a8, M, Kpad, 128, 64), wt = tiledPacked4(d.hw, N, Kpad);
        d.atBytes = at.size();
        CK(cudaMalloc(&d.at[3], at.size())); CK(cudaMemcpy(d.at[3], at.data(), at.size(), cudaMemcpyHostToDevice));
        CK(cudaMalloc(&d.wt[3], wt.size())); CK(cudaMemcpy(d.wt[3], wt.data(), wt.size(), cudaMemcpyHostToDevice));
    }
    return d;
}
static void release(Data& d) { if (d.a8) cudaFree(d.a8); for (int v = 1; v <= 3; v++) if (d.at[v]) { cudaFree(d.at[v]); cudaFree(d.wt[v]); } cudaFree(d.a); cudaFree(d.w); cudaFree(d.sa); cudaFree(d.sw); cudaFree(d.bias); cudaFree(d.y); cudaFree(d.lr); cudaFree(d.up); }

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
    Kern& kw = K_(wg);
    const uint8_t* aw = kw.a8 ? d.a8 : kw.tiled ? d.at[kw.tiled] : d.a;
    const uint8_t* ww = kw.tiled ? d.wt[kw.tiled] : d.w;
    CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
    launch(kw, aw, ww, M, N, Kpad, d.sa, d.sw, d.lr, d.up, r, bias ? d.bias : nullptr, d.y);
    CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y1.data(), d.y, y1.size() * 4, cudaMemcpyDeviceToHost));
    long diff = 0, first = -1;
    for (size_t i = 0; i < y0.size(); i++) if (memcmp(&y0[i], &y1[i], 4)) { if (first < 0) first = i; diff++; }
    // BF16 outputs of both kernels: RNE of the reference's F32 output, bit for bit (poisoned first)
    long bfBad = 0;
    if (!strstr(wg, "_pp_")) {   // (the ping-pong experiment writes F32 only)
        std::vector<uint16_t> yb((size_t)M * N);
        for (int which = 0; which < 2; which++) {
            CK(cudaMemset(d.y, 0xFF, (size_t)M * N * 4));
            if (which == 0) launch(K_(ref), d.a, d.w, M, N, Kpad, d.sa, d.sw, d.lr, d.up, r, bias ? d.bias : nullptr, d.y, 1);
            else launch(kw, aw, ww, M, N, Kpad, d.sa, d.sw, d.lr, d.up, r, bias ? d.bias : nullptr, d.y, 1);
            CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
            CK(cudaMemcpy(yb.data(), d.y, yb.size() * 2, cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < yb.size(); i++) bfBad += yb[i] != f2bf(y0[i]);
        }
    }
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
    bool ok = diff == 0 && hostBad == 0 && bfBad == 0;
    printf("check %-16s vs %-10s M=%d N=%d Kpad=%d r=%d bias=%d: %ld of %zu differ (first %ld: %g vs %g), BF16 out %ld differ, host %ld/%ld -> %s\n",
           wg, ref, M, N, Kpad, r, bias, diff, y0.size(), first, first >= 0 ? y0[first] : 0.0, first >= 0 ? y1[first] : 0.0,
           bfBad, hostBad, hostN, ok ? "OK" : "FAIL");
    release(d);
    return ok;
}

// CUDA events around 10 back-to-back launches, median of 40 samples, activations rotated over sets
static float timeit(Kern& k, int M, int N, int Kpad, int bits, int r, std::mt19937& rng, int yBf16 = 0) {
    const int abits = k.a8 ? 8 : bits;
    int nsets = (int)std::min(32L, std::max(2L, (200L << 20) / ((long)M * Kpad * abits / 8) + 1));
    Data d0 = make(M, N, Kpad, bits, r, rng);
    std::vector<uint8_t*> as;
    for (int i = 0; i < nsets; i++) {
        uint8_t* a; size_t sz = k.tiled ? d0.atBytes : (size_t)M * Kpad * abits / 8;
        CK(cudaMalloc(&a, sz)); CK(cudaMemcpy(a, k.a8 ? d0.a8 : k.tiled ? d0.at[k.tiled] : d0.a, sz, cudaMemcpyDeviceToDevice)); as.push_back(a);
    }
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    int it = 0;
    for (int i = 0; i < 5; i++) launch(k, as[it++ % nsets], k.tiled ? d0.wt[k.tiled] : d0.w, M, N, Kpad, d0.sa, d0.sw, d0.lr, d0.up, r, d0.bias, d0.y, yBf16);
    CK(cudaGetLastError());
    std::vector<float> t;
    for (int s = 0; s < 40; s++) {
        cudaEventRecord(e0);
        for (int i = 0; i < 10; i++) launch(k, as[it++ % nsets], k.tiled ? d0.wt[k.tiled] : d0.w, M, N, Kpad, d0.sa, d0.sw, d0.lr, d0.up, r, d0.bias, d0.y, yBf16);
        cudaEventRecord(e1); cudaEventSynchronize(e1);
        float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms * 1000 / 10);
    }
    CK(cudaGetLastError());
    for (auto a : as) cudaFree(a);
    release(d0);
    return median(t);
}

// the same timing on prepared operands (one Data per shape for all kernels)
static float timeD(Kern& k, Data& d, int yBf16) {
    const uint8_t* src = k.a8 ? d.a8 : k.tiled ? d.at[k.tiled] : d.a;
    const uint8_t* w = k.tiled ? d.wt[k.tiled] : d.w;
    size_t sz = k.tiled ? d.atBytes : (size_t)d.M * d.Kpad * (k.a8 ? 8 : d.bits) / 8;
    int nsets = (int)std::min<size_t>(32, std::max<size_t>(2, (200UL << 20) / sz + 1));
    std::vector<uint8_t*> as;
    for (int i = 0; i < nsets; i++) {
        uint8_t* a; CK(cudaMalloc(&a, sz)); CK(cudaMemcpy(a, src, sz, cudaMemcpyDeviceToDevice)); as.push_back(a);
    }
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    int it = 0;
    for (int i = 0; i < 5; i++) launch(k, as[it++ % nsets], w, d.M, d.N, d.Kpad, d.sa, d.sw, d.lr, d.up, 0, d.bias, d.y, yBf16);
    CK(cudaGetLastError());
    std::vector<float> t;
    for (int s = 0; s < 40; s++) {
        cudaEventRecord(e0);
        for (int i = 0; i < 10; i++) launch(k, as[it++ % nsets], w, d.M, d.N, d.Kpad, d.sa, d.sw, d.lr, d.up, 0, d.bias, d.y, yBf16);
        cudaEventRecord(e1); cudaEventSynchronize(e1);
        float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms * 1000 / 10);
    }
    CK(cudaGetLastError());
    cudaEventDestroy(e0); cudaEventDestroy(e1);
    for (auto a : as) cudaFree(a);
    return median(t);
}

// wgmma throughput of k_wgmma_peak_shape<...> (wgmma_tp.cuh): one block per SM, median of 5 launches, TOPS
template <class Kernel>
static double peak_tops(Kernel k, double opsPerIter, int blocks) {
    CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 96 * 1024));
    int* o; CK(cudaMalloc(&o, 4));
    const int iters = 10000;
    k<<<blocks, 256, 96 * 1024>>>(o, 100); CK(cudaDeviceSynchronize());
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    std::vector<float> t;
    for (int i = 0; i < 5; i++) {
        cudaEventRecord(e0); k<<<blocks, 256, 96 * 1024>>>(o, iters); cudaEventRecord(e1); cudaEventSynchronize(e1);
        float ms; cudaEventElapsedTime(&ms, e0, e1); t.push_back(ms);
    }
    CK(cudaGetLastError());
    cudaEventDestroy(e0); cudaEventDestroy(e1); cudaFree(o);
    return opsPerIter * iters * blocks / (median(t) * 1e-3) / 1e12;
}
constexpr double kPeakOps = 2.0 * 64 * 32 * 4;   // ops of one m64nNk32 per column, 4 k-steps per wgmma group
// the measured wgmma peak: back-to-back m64n256k32 from shared memory (no loads), 2 warpgroups per SM, printed
static void print_wgmma_peak(int blocks) {
    printf("peak wgmma m64n256k32 s8: %.1f TOPS\n", peak_tops(k_wgmma_peak_shape<2, 256, 1, 1>, kPeakOps * 256 * 2, blocks));
}

int main(int argc, char** argv) {
    bool bench = argc > 1 && (!strcmp(argv[1], "bench") || !strcmp(argv[1], "quick"));
    bool quick = argc > 1 && !strcmp(argv[1], "quick");   // timing of the 4096-row shapes only
    // every mode: the device's SM count for the persistent grids, each kernel's dynamic shared memory
    setvbuf(stdout, nullptr, _IOLBF, 0);
    cudaDeviceProp q; CK(cudaGetDeviceProperties(&q, 0));
    g_sms = q.multiProcessorCount;
    for (auto& k : kernels) CK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem));
    if (argc > 1 && !strcmp(argv[1], "pp")) {   // the ping-pong kernels only: checks, then M=4096 K=N=3072 timings
        printf("device %s, %d SMs, cc %d.%d\n", q.name, q.multiProcessorCount, q.major, q.minor);
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
    if (argc > 1 && !strcmp(argv[1], "t")) {   // the bulk-copy kernel on tiled operands: checks, then timings
        std::mt19937 rng(7);
        int fails = 0;
        fails += !check("k_gemm_i8", "k_wgmma_i8_t", 512, 512, 384, 0, false, rng);
        fails += !check("k_gemm_i8", "k_wgmma_i8_t", 300, 200, 384, 32, true, rng);
        fails += !check("k_gemm_i8", "k_wgmma_i8_t", 4096, 3072, 3072, 0, true, rng);
        fails += !check("k_gemm_i8", "k_wgmma_i8_t", 129, 130, 256, 16, true, rng);
        for (auto sh : {std::array<int, 5>{512, 512, 384, 0, 0}, {300, 200, 384, 32, 1}, {4096, 3072, 3072, 0, 1}, {129, 130, 256, 16, 1},
                        {200, 264, 256, 0, 1}, {1000, 4608, 1152, 16, 0}})
            fails += !check("k_gemm_i8", "k_wgmma_i8_t2", sh[0], sh[1], sh[2], sh[3], sh[4] != 0, rng);
        printf("checks: %d failed\n", fails);
        if (fails) return 1;
        int shapes[][3] = {{4096, 3072, 3072}, {4096, 3072, 12288}, {4096, 12288, 3072}, {4096, 1152, 4608}, {1024, 3072, 3072}};
        for (auto& sh : shapes) {
            int M = sh[0], K = sh[1], N = sh[2];
            printf("RESULT M=%d K=%d N=%d", M, K, N);
            for (const char* kn : {"k_wgmma_i8", "k_wgmma_i8_t", "k_wgmma_i8_t2"})
                for (int yb : {0, 1}) {
                    float us = timeit(K_(kn), M, N, K, 8, 0, rng, yb);
                    printf("  %s %s %.2f us %.0f TOPS", kn, yb ? "BF16" : "F32", us, 2.0 * M * N * K / us / 1e6);
                }
            printf("\n");
        }
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "t4")) {   // every tiled kernel: checks, then timings against the untiled ones
        printf("device %s, %d SMs, cc %d.%d\n", q.name, q.multiProcessorCount, q.major, q.minor);
        std::mt19937 rng(11);
        int fails = 0, n = 0;
        const bool only = argc > 2;   // t4 K...: check and time only the named kernels (and their peers)
        auto want = [&](const char* kn) { if (!only) return true; for (int i = 2; i < argc; i++) if (!strcmp(argv[i], kn)) return true; return false; };
        const char* pairs[][2] = {{"k_gemm_i8", "k_wgmma_i8_t"}, {"k_gemm_i8", "k_wgmma_i8_t_n128"}, {"k_gemm_i8", "k_wgmma_i8_tp"},
                                  {"k_gemm_i4", "k_wgmma_i4w_t"}, {"k_gemm_i4", "k_wgmma_i4w_t_n128"}};
        // M, N, Kpad (INT8; INT4: a multiple of 256), r, bias: edges in M and N (odd N, N % 8 != 0, 8-column edge
        // tiles, the second half of a 256-row W block), low rank with bias, K = 1152 (+128 for INT4)
        int shapes[][5] = {{512, 512, 384, 0, 0}, {300, 200, 384, 32, 1}, {4096, 3072, 3072, 0, 1}, {1000, 4608, 1152, 16, 0},
                           {77, 12288, 1024, 64, 1}, {129, 130, 384, 16, 1}, {200, 264, 256, 0, 1}, {70, 77, 256, 0, 0},
                           {256, 3072, 3072, 0, 1}, {333, 392, 640, 8, 1}};
        for (auto& pr : pairs) {
            if (!want(pr[1])) continue;
            const bool i8 = strstr(pr[0], "i8") != nullptr;
            for (auto& sh : shapes) {
                // INT4: the next multiple of 256 (1152 -> 1280: K = 1152 + 128 as the other checks)
                const int kp = i8 ? sh[2] : (sh[2] + 255) / 256 * 256;
                fails += !check(pr[0], pr[1], sh[0], sh[1], kp, sh[3], sh[4] != 0, rng); n++;
            }
        }
        for (const char* v : {"k_wgmma_i8_t_n128s6", "k_wgmma_i8_t_n128s11", "k_wgmma_i4w_t_s3", "k_wgmma_i4w_t_bulk4",
                              "k_wgmma_i4w_t_n128s6", "k_wgmma_i4w_t_n128s9"}) {   // the measured variants: fewer shapes
            if (!want(v)) continue;
            const bool i8 = strstr(v, "i8") != nullptr;
            fails += !check(i8 ? "k_gemm_i8" : "k_gemm_i4", v, 300, 200, i8 ? 384 : 768, 32, true, rng); n++;
            fails += !check(i8 ? "k_gemm_i8" : "k_gemm_i4", v, 4096, 3072, 3072, 0, true, rng); n++;
            fails += !check(i8 ? "k_gemm_i8" : "k_gemm_i4", v, 129, 130, 512, 16, true, rng); n++;
        }
        printf("checks: %d of %d failed\n", fails, n);
        if (fails) return 1;
        if (getenv("NOBENCH")) return 0;
        print_wgmma_peak(q.multiProcessorCount);
        // bias, r = 0; each line: one Data for all kernels of a width, F32 and BF16 output
        int bs[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
        for (auto& b : bs)
            for (int M : {256, 1024, 4096}) {
                const int K = b[0], N = b[1];
                const bool few = 2L * ((M + 127) / 128) * ((N + 255) / 256) < g_sms;
                for (int bits : {8, 4}) {
                    std::vector<const char*> ks = bits == 8
                        ? std::vector<const char*>{"k_wgmma_i8", "k_wgmma_i8_n128", "k_wgmma_i8_t", "k_wgmma_i8_t_n128"}
                        : std::vector<const char*>{"k_wgmma_i4w", "k_wgmma_i4w_n128", "k_wgmma_i4w_t", "k_wgmma_i4w_t_n128"};
                    if (M == 4096 && K == 3072 && N == 3072 && bits == 8) ks.push_back("k_wgmma_i8_t_n128s6");
                    if (M == 256 && bits == 8) { ks.push_back("k_wgmma_i8_t_n128s6"); ks.push_back("k_wgmma_i8_t_n128s11"); }
                    if (M == 4096 && bits == 4) ks.push_back("k_wgmma_i4w_t_bulk4");
                    if (M == 256 && bits == 4) { ks.push_back("k_wgmma_i4w_t_n128s6"); ks.push_back("k_wgmma_i4w_t_n128s9"); }
                    if (only) { std::vector<const char*> k2; for (auto kn : ks) if (want(kn) || !strstr(kn, "_t")) k2.push_back(kn); ks = k2; }
                    Data d = make(M, N, bits == 8 ? (K + 127) / 128 * 128 : (K + 255) / 256 * 256, bits, 0, rng);
                    for (int yb : {1, 0}) {
                        printf("RESULT M=%d K=%d N=%d W%dA%d %s (pick: %s)", M, K, N, bits, bits, yb ? "BF16" : "F32", few ? "n128" : "n256");
                        for (auto kn : ks) {
                            float us = timeD(K_(kn), d, yb);
                            printf("  %s %.2f us %.0f TOPS", kn, us, 2.0 * M * N * K / us / 1e6);
                        }
                        printf("\n");
                    }
                    release(d);
                }
            }
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "prof")) {   // one launch per kernel at M=4096, K=N=3072, BF16 out (for a profiler)
        std::mt19937 rng(7);
        Data d = make(4096, 3072, 3072, 8, 0, rng), d4 = make(4096, 3072, 3072, 4, 0, rng);
        for (int i = 2; i < argc; i++) {
            Kern& k = K_(argv[i]);
            Data& e = k.a8 || k.tiled == 3 ? d4 : d;
            launch(k, k.a8 ? e.a8 : k.tiled ? e.at[k.tiled] : e.a, k.tiled ? e.wt[k.tiled] : e.w, 4096, 3072, 3072, e.sa, e.sw, e.lr, e.up, 0, e.bias, e.y, 1);
            CK(cudaDeviceSynchronize());
        }
        release(d); release(d4);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "peaks")) {   // wgmma throughput per tile shape (k_wgmma_peak_shape)
        const int b = q.multiProcessorCount;
        auto row = [](const char* name, double tops) { printf("%-48s %8.1f TOPS\n", name, tops); };
        row("2 warpgroups x m64n256 (128 x 256 tile)", peak_tops(k_wgmma_peak_shape<2, 256, 1, 1>, kPeakOps * 256 * 2, b));
        row("1 warpgroup x m64n256", peak_tops(k_wgmma_peak_shape<1, 256, 1, 1>, kPeakOps * 256, b));
        row("2 warpgroups x m64n128 (128 x 128 tile)", peak_tops(k_wgmma_peak_shape<2, 128, 1, 1>, kPeakOps * 128 * 2, b));
        row("1 warpgroup x 2 m64n128 (128 x 128 tile)", peak_tops(k_wgmma_peak_shape<1, 128, 2, 1>, kPeakOps * 128 * 2, b));
        row("1 warpgroup x 2 m64n128, no group in flight", peak_tops(k_wgmma_peak_shape<1, 128, 2, 0>, kPeakOps * 128 * 2, b));
        row("2 warpgroups x 2 m64n128 (two 128 x 128 tiles)", peak_tops(k_wgmma_peak_shape<2, 128, 2, 1>, kPeakOps * 128 * 4, b));
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "x")) {   // timing only, BF16 out: x M K N kernel...
        std::mt19937 rng(7);
        int M = atoi(argv[2]), K = atoi(argv[3]), N = atoi(argv[4]);
        Data d = make(M, N, K, 8, 0, rng), d4 = make(M, N, K, 4, 0, rng);
        printf("RESULT x M=%d K=%d N=%d BF16", M, K, N);
        for (int i = 5; i < argc; i++) {
            Kern& k = K_(argv[i]);
            float us = timeD(k, k.a8 || k.tiled == 3 ? d4 : d, 1);
            printf("  %s %.2f", argv[i], us);
        }
        printf("\n");
        release(d); release(d4);
        return 0;
    }
    printf("device %s, %d SMs, cc %d.%d\n", q.name, q.multiProcessorCount, q.major, q.minor);
    std::mt19937 rng(7);
    int fails = 0;
    const char* pairs[][2] = {{"k_gemm_i8", "k_wgmma_i8"}, {"k_gemm_i8", "k_wgmma_i8_n128"},
                              {"k_gemm_i4", "k_wgmma_i4"}, {"k_gemm_i4", "k_wgmma_i4_n128"},
                              {"k_gemm_i4", "k_wgmma_i4w"}, {"k_gemm_i4", "k_wgmma_i4w_n128"},
                              {"k_gemm_i8", "k_wgmma_i8_t"}, {"k_gemm_i8", "k_wgmma_i8_t2"}};
    // (variants measured on the way, checked bit-identical in earlier runs, not re-run here: k_wgmma_i8_np,
    // _b64, _b64pre, _n128_b64pre, _n128x2, _m192, _m192pre, k_wgmma_i4w_pre)
    for (auto& pr : pairs) {
        bool i8 = strstr(pr[0], "i8") != nullptr;
        fails += !check(pr[0], pr[1], 512, 512, i8 ? 384 : 512, 0, false, rng);
        fails += !check(pr[0], pr[1], 300, 200, i8 ? 384 : 768, 32, true, rng);
        fails += !check(pr[0], pr[1], 4096, 3072, 3072, 0, true, rng);
        fails += !check(pr[0], pr[1], 1000, 4608, 1152 + (i8 ? 0 : 128), 16, false, rng);
        fails += !check(pr[0], pr[1], 77, 12288, 1024, 64, true, rng);
        fails += !check(pr[0], pr[1], 129, 130, i8 ? 384 : 512, 16, true, rng);   // N % 8 != 0: BF16 through the slab
        fails += !check(pr[0], pr[1], 200, 264, i8 ? 256 : 512, 0, true, rng);    // BF16 bulk stores of 8-column edge tiles
        fails += !check(pr[0], pr[1], 70, 77, 256, 0, false, rng);                // odd N, host rows
    }
    printf("checks: %d failed\n", fails);
    if (!bench) return fails ? 1 : 0;
    print_wgmma_peak(q.multiProcessorCount);
    // per shape, the tile TensorCoreGemm picks (128 x 128 below half a wave of 128 x 256 tiles); bias, r = 0
    int shapes[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    for (auto& s : shapes) {
        for (int M : {256, 1024, 4096}) {
            int K = s[0], N = s[1];
            if (quick && M != 4096) continue;
            const bool few = 2L * ((M + 127) / 128) * ((N + 255) / 256) < g_sms;
            auto tops = [&](float us) { return 2.0 * M * N * K / us / 1e6; };
            int Kpad8 = (K + 127) / 128 * 128, Kpad4 = (K + 255) / 256 * 256;
            Kern& k8 = K_(few ? "k_wgmma_i8_n128" : "k_wgmma_i8");
            Kern& k4 = K_(few ? "k_wgmma_i4_n128" : "k_wgmma_i4");
            Kern& k4w = K_(few ? "k_wgmma_i4w_n128" : "k_wgmma_i4w");
            float a = timeit(k8, M, N, Kpad8, 8, 0, rng, 0), b = timeit(k8, M, N, Kpad8, 8, 0, rng, 1);
            float c = timeit(k4, M, N, Kpad4, 4, 0, rng, 0), d = timeit(k4w, M, N, Kpad4, 4, 0, rng, 0), e = timeit(k4w, M, N, Kpad4, 4, 0, rng, 1);
            printf("RESULT M=%d K=%d N=%d tile=%d  %s F32 %.2f us %.0f TOPS  BF16 %.2f us %.0f TOPS  |  %s F32 %.2f us %.0f TOPS"
                   "  |  %s F32 %.2f us %.0f TOPS  BF16 %.2f us %.0f TOPS\n", M, K, N, k8.bn, k8.name, a, tops(a), b, tops(b),
                   k4.name, c, tops(c), k4w.name, d, tops(d), e, tops(e));
            if (M == 4096) {   // the variants
                printf("RESULT variants M=%d K=%d N=%d", M, K, N);
                for (const char* vn : {"k_wgmma_i8", "k_wgmma_i8_t", "k_wgmma_i8_t2"}) {
                    Kern& kv = K_(vn);
                    int bits = kv.a8 ? 4 : 8, kp = kv.a8 ? Kpad4 : Kpad8;
                    float f = timeit(kv, M, N, kp, bits, 0, rng, 0), b2 = timeit(kv, M, N, kp, bits, 0, rng, 1);
                    printf("  %s F32 %.2f BF16 %.2f us (%.0f TOPS)", vn, f, b2, tops(b2));
                }
                printf("\n");
            }
            if (M == 4096 && K == 3072 && N == 3072) {   // fixed cost per tile (one k-step) and the low-rank epilogue
                printf("RESULT M=4096 N=3072 Kpad=128: k_wgmma_i8 F32 %.2f us  BF16 %.2f us;  Kpad=256 k_wgmma_i4w BF16 %.2f us;"
                       "  K=3072 r=32: k_wgmma_i8 BF16 %.2f us  k_wgmma_i4w BF16 %.2f us\n",
                       timeit(k8, M, N, 128, 8, 0, rng, 0), timeit(k8, M, N, 128, 8, 0, rng, 1), timeit(k4w, M, N, 256, 4, 0, rng, 1),
                       timeit(k8, M, N, Kpad8, 8, 32, rng, 1), timeit(k4w, M, N, Kpad4, 4, 32, rng, 1));
            }
        }
    }
    return fails ? 1 : 0;
}
