// Standalone check and benchmark of the fused kernels (same sources the jar's PTX is built from).
//   nvcc -O3 -arch=sm_90 --fmad=false -Xcompiler -ffp-contract=off nibble_harness.cu -o harness
//   ./harness check | ./harness bench
// With -gencode arch=compute_90a,code=sm_90a -DNIBBLE_WGMMA the bench also times the per-row linears on
// the wgmma GEMM (nibble_wgmma.cu), with the tile TensorCoreGemm.wgmmaTileN picks.
// ./harness bench issue: the bench at M = 4096, K = N = 3072 only. NIBBLE_BENCH_ONLY=M,K,N one shape;
// NIBBLE_VARIANTS=1,5,8 some variants (indices into names[] in main). NIBBLE_XBF16=1: BF16 activations in (and out
// for the BF16-output GEMM variants and the grouped ones): the results are named <variant>_xbf16.
// ./harness tqcheck: k_tq3's launch variants (R = 1, 2; clip < 1) bit for bit against the host, F32 and BF16 x.
// ./harness tqbench: the transform+quantize kernels alone with the copy bandwidth (NIBBLE_TQ_CONFIGS /
// NIBBLE_TQ_VARIANTS / NIBBLE_TQ_DEDUP / NIBBLE_TQ_M: see tq_bench).
// As FusedLinear: BF16 x takes k_tq3p where the plan takes k_tq3h (NIBBLE_TQ=4: k_tq3h, 9: k_tq3p at any M, 8: k_tq3p's
// body with F32 x too; NIBBLE_TQP_B: its blocks per SM), and the tiled GEMM after k_tq3h / k_tq3p is a programmatic
// dependent launch (NIBBLE_PDL=0: plain launches).
#include "../../main/cuda/nibble_ops.cu"
#include "../../main/cuda/nibble_fused.cu"
#ifdef NIBBLE_WGMMA
#include "../../main/cuda/nibble_wgmma.cu"
#endif
// tqbench / tqcheck experiments (NIBBLE_TQ = 5, 6, 7; 4: k_tq3h itself wherever the plan allows, whatever M): k_tq3h
// with F32 x by direct loads (56 registers), at 64 registers (cp.async), both
#define TQH_TEST(NAME, REG, AS) extern "C" __global__ void __maxnreg__(REG) NAME(TQ3_ARGS) { \
    extern __shared__ __align__(16) float tq3buf[]; __shared__ float red[32]; \
    if (xBf16) TQH_BODY(true, false); else TQH_BODY(false, AS); }
TQH_TEST(k_tq3h_ldg, 56, false)
TQH_TEST(k_tq3h_r64, 64, true)
TQH_TEST(k_tq3h_ldg64, 64, false)
// NIBBLE_TQ = 8: k_tq3p's body with F32 x too (k_tq3p takes BF16 only: F32 measured slower than k_tq3h); NIBBLE_TQP_B:
// blocks per SM (default: tqp_blocks, as FusedLinear.tqpBlocksPerSm)
extern "C" __global__ void __maxnreg__(72) k_tq3p_any(TQ3_ARGS) {
    extern __shared__ __align__(16) float tq3buf[];
    if (xBf16) tqp_body<true>(x, K, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, M, tiled, tq3buf);
    else tqp_body<false>(x, K, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, M, tiled, tq3buf);
}
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <algorithm>
#include <cstring>
#include <string>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)
#define CKL() CK(cudaGetLastError())

static uint64_t rng = 88172645463325252ull;
static double urand() { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (rng >> 11) * (1.0 / 9007199254740992.0); }
static float nrand() { double u = urand() + 1e-12, v = urand(); return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v)); }
static uint16_t bf16(float f) { uint32_t b; memcpy(&b, &f, 4); b += 0x7FFF + ((b >> 16) & 1); return (uint16_t)(b >> 16); }
static float bf16f(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }

// ---------------------------------------------------------------- host reference of the numerics
static void host_regular(float* v, int n) {
    for (int s = 1; s < n; s *= 4)
        for (int base = 0; base < n; base += 4 * s)
            for (int j = base; j < base + s; j++) {
                float a = v[j], b = v[j + s], c = v[j + 2 * s], d = v[j + 3 * s];
                float apb = a + b, amb = a - b, cpd = c + d, cmd = c - d;
                v[j] = apb + cmd; v[j + s] = apb - cmd; v[j + 2 * s] = amb + cpd; v[j + 3 * s] = cpd - amb;
            }
    float sc = 1.0f / (float)(1 << (__builtin_ctz(n) / 2));
    for (int i = 0; i < n; i++) v[i] *= sc;
}
static int host_code(float x, float s, int qmin, int qmax) {
    if (s == 0.0f) return 0;
    volatile float d = x / s;
    float q = rintf(d);
    return (int)std::max((float)qmin, std::min((float)qmax, q));
}
static float g_clip = 1.0f;   // tqcheck: a clip ratio < 1 (k_tq3's clamped kernels); host_quant clips the same way
// quantize rows of xt [rows, Kpad] (already transformed) with groups of gs; codes unpacked
static void host_quant(const std::vector<float>& xt, int rows, int Kpad, int gs, int qmax,
                       std::vector<int>& codes, std::vector<float>& scales) {
    int G = Kpad / gs;
    codes.assign((size_t)rows * Kpad, 0); scales.assign((size_t)rows * G, 0);
    for (int r = 0; r < rows; r++)
        for (int g = 0; g < G; g++) {
            float am = 0; for (int i = 0; i < gs; i++) am = std::max(am, fabsf(xt[(size_t)r * Kpad + g * gs + i]));
            volatile float s = am * g_clip; s = s / (float)qmax;
            scales[(size_t)r * G + g] = s;
            for (int i = 0; i < gs; i++) codes[(size_t)r * Kpad + g * gs + i] = host_code(xt[(size_t)r * Kpad + g * gs + i], s, -qmax - 1, qmax);
        }
}
static std::vector<uint8_t> pack(const std::vector<int>& c, int rows, int K, int bits) {
    std::vector<uint8_t> o((size_t)rows * K * bits / 8, 0);
    for (int r = 0; r < rows; r++) for (int k = 0; k < K; k++) {
        int v = c[(size_t)r * K + k];
        if (bits == 8) o[(size_t)r * K + k] = (uint8_t)v;
        else o[(size_t)r * (K / 2) + k / 2] |= (uint8_t)((v & 0xF) << (4 * (k & 1)));
    }
    return o;
}

static void host_sylvester(float* v, int n) {
    for (int s = 1; s < n; s *= 2)
        for (int base = 0; base < n; base += 2 * s)
            for (int j = base; j < base + s; j++) { float a = v[j], b = v[j + s]; v[j] = a + b; v[j + s] = a - b; }
    float sc = (float)(1.0 / sqrt((double)n));
    for (int i = 0; i < n; i++) v[i] = v[i] * sc;
}

// ---------------------------------------------------------------- the register path's launches (as FusedLinear)
// rot: 0 none, 1 regular (n0 = 4^k), 2 Sylvester; gs: the scale group (Kpad: per token)
static bool tq2_fits(int K, int Kpad, int rot, int n0, int gs) {
    if (K % 4 != 0 || (Kpad + 255) / 256 > 64) return false;
    if (rot != 0 && n0 > 256) return false;
    if (gs < Kpad && !((gs <= 256 && (gs & (gs - 1)) == 0 && gs >= 8) || gs % 256 == 0)) return false;
    return true;
}
static int g_tq = getenv("NIBBLE_TQ") ? atoi(getenv("NIBBLE_TQ")) : 0;   // 2: k_tq2 only
static int g_tqr = getenv("NIBBLE_TQR") ? atoi(getenv("NIBBLE_TQR")) : 0;   // k_tq3 with R = 1 or 2 rounds per warp
static long g_hotLaunches = 0;   // k_tq3h launches (tqcheck reports them: the dispatch is exercised)
static int g_forceSpw = 0;   // checks: run the register path with 2 or 4 segments per warp
static int g_sms = 132;
// the tiled GEMM by programmatic dependent launch after k_tq3h / k_tq3p, as FusedLinear (NIBBLE_PDL=0: plain launches)
static int g_pdl = getenv("NIBBLE_PDL") ? atoi(getenv("NIBBLE_PDL")) : 1;
static bool g_lastHot = false;   // the last transform launched was k_tq3h or k_tq3p
static int g_tqpB = getenv("NIBBLE_TQP_B") ? atoi(getenv("NIBBLE_TQP_B")) : 0;   // k_tq3p blocks per SM (0: tqp_blocks)
// spw 0: the default (1 up to 16 segments, 2 up to 32, else 4: as FusedLinear.registerPath); one block per row
static int tq2_spw(int Kpad, int spw) { int S = (Kpad + 255) / 256; if (!spw) spw = g_forceSpw; return spw ? spw : (S <= 16 ? 1 : S <= 32 ? 2 : 4); }
// blocks per SM for the persistent k_tq3p: rows per block ceil(M / (SMs·B)), B blocks per SM share the issue slots, so the
// time goes as ceil(M / (SMs·B))·B: the B in [maxB / 2, maxB] with the fewest, the largest on a tie
static int tqp_blocks(int M, int sms, int maxB) {
    int best = maxB; long long bestT = 1LL << 62;
    for (int B = maxB; B >= std::max(1, maxB / 2); B--) {
        const long long t = (long long)((M + (long long)sms * B - 1) / ((long long)sms * B)) * B;
        if (t < bestT) { bestT = t; best = B; }
    }
    return best;
}
// a launch on the default stream, with programmatic dependent launch (the kernel may start before the previous one ends;
// nwt::body waits with griddepcontrol.wait before it reads A) when pdl
template <typename K, typename... Args>
static void launch_pdl(K kernel, dim3 grid, int threads, int smem, bool pdl, Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid; cfg.blockDim = dim3(threads); cfg.dynamicSmemBytes = smem; cfg.stream = 0;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization; at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at; cfg.numAttrs = pdl ? 1 : 0;
    CK(cudaLaunchKernelEx(&cfg, kernel, args...));
}
// k_tq3h by programmatic dependent launch after whatever ran before it (it waits for it before any load or store), as
// FusedLinear (NIBBLE_PDLT=0: plain launches); k_tq3p always plainly (its persistent grid needs its blocks spread evenly)
static int g_pdlT = getenv("NIBBLE_PDLT") ? atoi(getenv("NIBBLE_PDLT")) : 1;
static void launch_tq2(const void* x, int M, int K, int Kpad, const float* sm, const float* sh, int rot, int n0, float rscale,
                       int bits, int gs, int Gout, int qmin, int qmax, uint8_t* codes, float* scales,
                       const float* part, int ks, int r, void* lr, int lrDt, const float* lrbias = nullptr, int spw = 0,
                       int xbf16 = 0, int tiled = 0) {
    int ln0 = rot ? __builtin_ctz(n0) : 0;
    int rounds = ((Kpad + 255) / 256 + 1) / 2;
    g_lastHot = false;
    // k_tq3 (as FusedLinear): regular Hadamard or none, scales per token or per group of 16..256 columns
    bool tq3 = g_tq != 2 && spw == 0 && g_forceSpw == 0 && (rot == 0 || (rot == 1 && (ln0 & 1) == 0))
               && (gs >= Kpad || (gs >= 16 && gs <= 256 && (gs & (gs - 1)) == 0));
    // k_tq3h (as FusedLinear.tq3hWarps and tq3hPays): the ConvRot plan, Kpad % 1024 = 0, M·Kpad >= 2^23; NIBBLE_TQ=3 or a
    // forced NIBBLE_TQR keeps k_tq3; NIBBLE_TQ >= 4 runs it (or an experiment) wherever the plan allows, whatever M
    if (tq3 && g_tq != 3 && g_tqr == 0 && rot == 1 && n0 == 256 && gs >= Kpad && !sm && !sh && part == nullptr
        && g_clip >= 1.0f && K % 8 == 0 && (Kpad + 1023) / 1024 <= 16
        && (g_tq >= 4 || (Kpad % 1024 == 0 && (long long)M * Kpad >= (1LL << 23)))) {
        int W = (Kpad + 1023) / 1024, P = W < 4 && 4 % W == 0 ? 4 / W : 1, threads = 32 * W * P;
        // k_tq3p (as FusedLinear): BF16 x by default and with NIBBLE_TQ=9 (any M); NIBBLE_TQ=8: k_tq3p_any, F32 x too
        if ((xbf16 && (g_tq == 0 || g_tq == 9)) || g_tq == 8) {   // persistent: W warps per block, grid SMs x blocks per SM
            auto kp = g_tq == 8 ? k_tq3p_any : k_tq3p;
            const int smem = W * (TQH_WARP + (xbf16 ? TQP_RAW_BF16 : TQP_RAW_F32)) * 4;
            int maxB = 0;
            CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&maxB, kp, 32 * W, smem));
            int B = g_tqpB > 0 ? std::min(maxB, g_tqpB) : tqp_blocks(M, g_sms, maxB);
            const int grid = std::min(M, g_sms * std::max(B, 1));
            static int shown = 0;
            if (shown++ < 4) printf("tqp: NIBBLE_TQ=%d M=%d W=%d x=%s smem %d B/SM %d of %d, grid %d\n", g_tq, M, W, xbf16 ? "BF16" : "F32", smem, B, maxB, grid);
            launch_pdl(kp, dim3(grid), 32 * W, smem, false, x, K, Kpad, sm, sh, rot, ln0, rscale, bits, gs, Gout, g_clip,
                    qmin, qmax, codes, scales, part, ks, r, lr, lrDt, lrbias, M, xbf16, W, tiled);
            g_hotLaunches++;
            g_lastHot = true;
            return;
        }
        auto kh = g_tq == 5 ? k_tq3h_ldg : g_tq == 6 ? k_tq3h_r64 : g_tq == 7 ? k_tq3h_ldg64 : k_tq3h;
        launch_pdl(kh, dim3((M + P - 1) / P), threads, (threads / 32) * TQH_WARP * 4, g_pdl && g_pdlT, x, K, Kpad, sm, sh, rot,
                ln0, rscale, bits, gs, Gout, g_clip, qmin, qmax, codes, scales, part, ks, r, lr, lrDt, lrbias, M, xbf16, W, tiled);
        g_hotLaunches++;
        g_lastHot = true;
        return;
    }
    if (tq3) {
        // as FusedLinear.tq3Rounds: two rounds (four segments) per warp for per-token scales from 4 rounds on, else one;
        // at most 16 warps per row
        int R = g_tqr ? g_tqr : (gs >= Kpad && rounds >= 4) || rounds > 16 ? 2 : 1;
        int W = (rounds + R - 1) / R;
        if (W <= 16) {
            int P = W < 4 && 4 % W == 0 ? 4 / W : 1;
            int threads = 32 * W * P;
            // clip < 1: the clamped kernels (as FusedLinear.launchTq2)
            auto k3 = R == 1 ? (g_clip < 1.0f ? k_tq3_r1c : k_tq3_r1) : (g_clip < 1.0f ? k_tq3_r2c : k_tq3_r2);
            k3<<<(M + P - 1) / P, threads, (threads / 32) * 2 * TQ3_HALF * 4>>>(x, K, Kpad, sm, sh, rot, ln0, rscale, bits, gs,
                    Gout, g_clip, qmin, qmax, codes, scales, part, ks, r, lr, lrDt, lrbias, M, xbf16, W, tiled);
            return;
        }
    }
    if (tiled) { fprintf(stderr, "tiled codes need k_tq3\n"); exit(1); }
    spw = tq2_spw(Kpad, spw);
    int S = (Kpad + 255) / 256, W = (S + spw - 1) / spw;
    auto k = spw == 1 ? k_tq2_s1 : spw == 2 ? k_tq2_s2 : k_tq2_s4;
    k<<<M, 32 * W>>>(x, K, Kpad, sm, sh, rot, ln0, rscale, bits, gs, Gout, g_clip, qmin, qmax, codes, scales, part, ks, r, lr,
                              lrDt, lrbias, M, xbf16);
}
// down [Kp, r] (float values) in the fragment order of k_lr_down; lo: the non-TF32 remainder (empty if none)
static float tf32r(float f) { uint32_t b; memcpy(&b, &f, 4); b = (b + 0x1000u) & 0xFFFFE000u; float o; memcpy(&o, &b, 4); return o; }
static void lr_frag(const std::vector<float>& down, int Kp, int r, std::vector<float>& hi, std::vector<float>& lo) {
    int NT = r / 8, nch = (Kp + 31) / 32;
    hi.assign((size_t)nch * 32 * NT * 8, 0.f); lo.assign(hi.size(), 0.f);
    bool any = false;
    for (int c = 0; c < nch; c++) for (int lane = 0; lane < 32; lane++) for (int nt = 0; nt < NT; nt++) for (int st = 0; st < 4; st++)
        for (int e = 0; e < 2; e++) {
            int j = 2 * st + e, t = lane & 3, k = c * 32 + (j < 4 ? 4 * t + j : 12 + 4 * t + j), n = nt * 8 + (lane >> 2);
            float d = k < Kp ? down[(size_t)k * r + n] : 0.f, h = tf32r(d);
            size_t i = ((((size_t)c * 2 * NT + 2 * nt + (st >> 1)) * 32 + lane) * 4) + 2 * (st & 1) + e;
            hi[i] = h; lo[i] = d - h; any |= lo[i] != 0.f;
        }
    if (!any) lo.clear();
}
static int lr_splits(int M, int nch, int* cps) {
    int mb = (M + 63) / 64;
    static const int target = getenv("NIBBLE_LR_BLOCKS") ? atoi(getenv("NIBBLE_LR_BLOCKS")) : 512;   // as FusedLinear.lowRankSplits
    int ks = std::max(1, std::min(std::min(32, nch), (target + mb - 1) / mb));
    *cps = (nch + ks - 1) / ks;
    return (nch + *cps - 1) / *cps;
}
static void launch_lrdown(const void* x, int M, int K, const float* ism, const float* dhi, const float* dlo,
                          int r, float* part, int ks, int cps, int nch, int xbf16 = 0, cudaStream_t st = 0) {
    dim3 g((M + 63) / 64, ks);
    if (r == 16) k_lr_down_r16<<<g, 128, 0, st>>>(x, K, ism, dhi, dlo, M, cps, nch, part, xbf16);
    if (r == 32) k_lr_down_r32<<<g, 128, 0, st>>>(x, K, ism, dhi, dlo, M, cps, nch, part, xbf16);
    if (r == 48) k_lr_down_r48<<<g, 128, 0, st>>>(x, K, ism, dhi, dlo, M, cps, nch, part, xbf16);
    if (r == 64) k_lr_down_r64<<<g, 128, 0, st>>>(x, K, ism, dhi, dlo, M, cps, nch, part, xbf16);
}
// k_lr_down on a second stream beside the transform (given no splits), then k_lr_sum: as FusedLinear with two streams
static cudaStream_t g_side = nullptr;
static cudaEvent_t g_evIn = nullptr, g_evDown = nullptr, g_evUnp = nullptr;   // side-stream fork, k_lr_down done, W4 unpack done
// the side stream (CudaBackend.forkSide): created once, then made to wait for everything on the default stream so far
static void fork_side() {
    if (!g_side) {
        CK(cudaStreamCreateWithFlags(&g_side, cudaStreamNonBlocking));
        for (cudaEvent_t* ev : {&g_evIn, &g_evDown, &g_evUnp}) CK(cudaEventCreateWithFlags(ev, cudaEventDisableTiming));
    }
    CK(cudaEventRecord(g_evIn, 0)); CK(cudaStreamWaitEvent(g_side, g_evIn, 0));
}
static void lrdown_beside(const void* x, int M, int K, const float* ism, const float* dhi, const float* dlo, int r, float* part,
                          int ks, int cps, int nch, int xbf16) {
    fork_side();
    launch_lrdown(x, M, K, ism, dhi, dlo, r, part, ks, cps, nch, xbf16, g_side);
    CK(cudaEventRecord(g_evDown, g_side));
}
static void lrsum_after(const float* part, int ks, int r, void* lr, const float* lrbias, int M) {
    CK(cudaStreamWaitEvent(0, g_evDown, 0));
    k_lr_sum<<<(M + 7) / 8, 256>>>(part, ks, r, lr, DT_BF16, lrbias, M);
}

// had > 0: regular Hadamard blocks of had; had < 0: Sylvester blocks of -had
struct Case { const char* name; int bits; int had; int gs; int r; bool smooth; bool bias; int mode; bool shift; };

static int g_xbf16 = 0;   // checks: x rounded to BF16 values, the register path also fed BF16 (must equal the F32 run)
static int g_qmax = 0;    // checks: another code range (bits 8 with qmax 7: INT8 bytes holding 4-bit codes)
static int check_case(const Case& c, int M, int K, int N, bool newtq) {
    int align = c.bits == 4 ? 256 : 128;
    const int n0 = std::abs(c.had), rot = c.had > 0 ? 1 : c.had < 0 ? 2 : 0;
    const float rscale = rot == 1 ? 1.0f / (float)(1 << (__builtin_ctz(n0) / 2)) : rot == 2 ? (float)(1.0 / sqrt((double)n0)) : 1.0f;
    int Kp = n0 ? (K + n0 - 1) / n0 * n0 : K;
    int Kpad = (Kp + align - 1) / align * align;
    bool grouped = c.gs > 0;
    int gs = grouped ? c.gs : Kpad, G = Kpad / gs;
    int qmax = g_qmax ? g_qmax : c.bits == 4 ? 7 : 127;
    std::vector<float> x((size_t)M * K), sm(K), sh(K), bias(N), w((size_t)N * Kpad, 0.f);
    for (auto& v : x) v = nrand();
    for (int m = 0; m < M; m++) x[(size_t)m * K + 5] *= 30.0f;  // an outlier channel
    std::vector<uint16_t> xb;
    if (g_xbf16) { xb.resize(x.size()); for (size_t i = 0; i < x.size(); i++) { xb[i] = bf16(x[i]); x[i] = bf16f(xb[i]); } }
    for (auto& v : sm) v = 0.5f + (float)urand();
    for (auto& v : sh) v = (float)urand() * 4.0f - 2.0f;
    for (auto& v : bias) v = nrand();
    // host transform
    std::vector<float> xt((size_t)M * Kpad, 0.f);
    for (int m = 0; m < M; m++) {
        for (int k = 0; k < K; k++) { volatile float t = x[(size_t)m * K + k]; if (c.smooth) t = t / sm[k]; if (c.shift) t = t + sh[k]; xt[(size_t)m * Kpad + k] = t; }
        if (rot == 1) for (int b = 0; b < Kp; b += n0) host_regular(&xt[(size_t)m * Kpad + b], n0);
        if (rot == 2) for (int b = 0; b < Kp; b += n0) host_sylvester(&xt[(size_t)m * Kpad + b], n0);
    }
    std::vector<int> ac, wc; std::vector<float> as, ws;
    host_quant(xt, M, Kpad, gs, qmax, ac, as);
    for (int n = 0; n < N; n++) for (int k = 0; k < Kp; k++) w[(size_t)n * Kpad + k] = nrand();
    host_quant(w, N, Kpad, gs, qmax, wc, ws);
    std::vector<uint8_t> wpk = pack(wc, N, Kpad, c.bits);
    // low rank
    std::vector<uint16_t> down((size_t)Kp * std::max(c.r, 1)), up((size_t)N * std::max(c.r, 1));
    for (auto& v : down) v = bf16(nrand() * 0.05f);
    for (auto& v : up) v = bf16(nrand() * 0.05f);
    // device
    float *dx, *dsm, *dbias, *das, *dws, *dy; uint8_t *dac, *dwc; void *ddown, *dup, *dlr;
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dsm, K * 4)); CK(cudaMalloc(&dbias, N * 4));
    CK(cudaMalloc(&das, (size_t)M * G * 4)); CK(cudaMalloc(&dws, ws.size() * 4)); CK(cudaMalloc(&dy, (size_t)M * N * 4));
    CK(cudaMalloc(&dac, (size_t)M * Kpad)); CK(cudaMalloc(&dwc, wpk.size()));
    CK(cudaMalloc(&ddown, down.size() * 2)); CK(cudaMalloc(&dup, up.size() * 2)); CK(cudaMalloc(&dlr, (size_t)M * 128 * 2));
    CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    void* dxb = nullptr;
    if (g_xbf16) { CK(cudaMalloc(&dxb, xb.size() * 2)); CK(cudaMemcpy(dxb, xb.data(), xb.size() * 2, cudaMemcpyHostToDevice)); }
    long bfmis = 0;   // BF16-input run vs the F32 run on the widened values: bytes of codes, scales, low-rank pairs
    CK(cudaMemcpy(dsm, sm.data(), K * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dbias, bias.data(), N * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dws, ws.data(), ws.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dwc, wpk.data(), wpk.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(ddown, down.data(), down.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dup, up.data(), up.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemset(dy, 0xFF, (size_t)M * N * 4));  // poison (NaN)
    float* dsh; CK(cudaMalloc(&dsh, K * 4)); CK(cudaMemcpy(dsh, sh.data(), K * 4, cudaMemcpyHostToDevice));
    CK(cudaMemset(dac, 0x5A, (size_t)M * Kpad)); CK(cudaMemset(das, 0xFF, (size_t)M * G * 4));  // poison
    const bool use2 = newtq && tq2_fits(K, Kpad, rot, n0, gs) && (c.r == 0 || rot == 0);
    float *dhi = nullptr, *dlo = nullptr, *dpart = nullptr;
    const char* tqn = use2 ? (c.r ? "k_lr_down+k_tq2" : "k_tq2") : (c.r ? "k_tq_lr" : "k_tq");
    if (use2) {
        int ks = 0, cps = 0, nch = (Kp + 31) / 32;
        float *dism = nullptr, *dlb = nullptr;
        if (c.r) {
            std::vector<float> df(down.size()), hi, lo, ism(K), lb(c.r, 0.f);
            for (size_t i = 0; i < down.size(); i++) df[i] = bf16f(down[i]);
            for (int k = 0; k < K; k++) ism[k] = (float)(1.0 / sm[k]);
            for (int j = 0; j < c.r; j++) { double t = 0; for (int k = 0; k < K; k++) t += (double)sh[k] * df[(size_t)k * c.r + j]; lb[j] = (float)t; }
            lr_frag(df, Kp, c.r, hi, lo);
            CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice));
            if (!lo.empty()) { CK(cudaMalloc(&dlo, lo.size() * 4)); CK(cudaMemcpy(dlo, lo.data(), lo.size() * 4, cudaMemcpyHostToDevice)); }
            CK(cudaMalloc(&dism, K * 4)); CK(cudaMemcpy(dism, ism.data(), K * 4, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&dlb, c.r * 4)); CK(cudaMemcpy(dlb, lb.data(), c.r * 4, cudaMemcpyHostToDevice));
            ks = lr_splits(M, nch, &cps);
            CK(cudaMalloc(&dpart, (size_t)ks * M * c.r * 4));
        }
        auto run = [&](const void* xin, int xbf) {
            if (c.r) launch_lrdown(xin, M, K, c.smooth ? dism : nullptr, dhi, dlo, c.r, dpart, ks, cps, nch, xbf);
            launch_tq2(xin, M, K, Kpad, c.smooth ? dsm : nullptr, c.shift ? dsh : nullptr, rot, n0, rscale, c.bits, gs, G, -qmax - 1, qmax,
                       dac, das, dpart, ks, c.r, dlr, DT_BF16, c.shift ? dlb : nullptr, 0, xbf);
            CKL(); CK(cudaDeviceSynchronize());
        };
        run(dx, 0);
        if (g_xbf16) {
            const size_t nc = (size_t)M * Kpad * c.bits / 8, ns = (size_t)M * G * 4, nl = (size_t)M * 2 * c.r * 2;
            std::vector<uint8_t> a(nc + ns + nl), b(nc + ns + nl);
            auto grab = [&](std::vector<uint8_t>& o) {
                CK(cudaMemcpy(o.data(), dac, nc, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(o.data() + nc, das, ns, cudaMemcpyDeviceToHost));
                if (nl) CK(cudaMemcpy(o.data() + nc + ns, dlr, nl, cudaMemcpyDeviceToHost));
            };
            grab(a);
            CK(cudaMemset(dac, 0x5A, (size_t)M * Kpad)); CK(cudaMemset(das, 0xFF, (size_t)M * G * 4)); CK(cudaMemset(dlr, 0x77, (size_t)M * 128 * 2));
            run(dxb, 1);
            grab(b);
            for (size_t i = 0; i < a.size(); i++) bfmis += a[i] != b[i];
        }
        if (dism) cudaFree(dism);
        if (dlb) cudaFree(dlb);
    } else {
        int R = c.r ? std::min(8, (int)((200 * 1024 / 4) / (Kpad + 512))) : 1;
        size_t smem = ((size_t)R * Kpad + 8 * R * 64) * 4;
        (c.r ? k_tq_lr : k_tq)<<<(M + R - 1) / R, 256, smem>>>(dx, K, Kp, Kpad, c.smooth ? dsm : nullptr, c.shift ? dsh : nullptr, rot, n0 ? n0 : 1, rscale,
                               c.bits, gs, G, 0, 1.0f, -qmax - 1, qmax, dac, das, ddown, DT_BF16, c.r, dlr, DT_BF16, M, R);
    }
    CKL(); CK(cudaDeviceSynchronize());
    // compare codes and scales exactly
    std::vector<uint8_t> gac((size_t)M * Kpad * c.bits / 8); std::vector<float> gas((size_t)M * G);
    CK(cudaMemcpy(gac.data(), dac, gac.size(), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gas.data(), das, gas.size() * 4, cudaMemcpyDeviceToHost));
    std::vector<uint8_t> hac = pack(ac, M, Kpad, c.bits);
    long bad = 0; for (size_t i = 0; i < hac.size(); i++) bad += hac[i] != gac[i];
    long badS = 0; for (size_t i = 0; i < gas.size(); i++) badS += gas[i] != as[i];
    std::vector<uint16_t> glr((size_t)M * 2 * std::max(c.r, 1));
    if (c.r) CK(cudaMemcpy(glr.data(), dlr, glr.size() * 2, cudaMemcpyDeviceToHost));
    int cpg = grouped ? gs / (c.bits == 4 ? 64 : 32) : 1;
    if (grouped && (long)gs * (c.bits == 8 ? 128 * 128 : c.mode == 2 ? 64 : 64 * 256) < (1L << 22)) cpg = -cpg;
    dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
    const char* kn = "";
    if (c.bits == 8) { kn = grouped ? "k_gemm_i8_g" : "k_gemm_i8"; (grouped ? k_gemm_i8_g : k_gemm_i8)<<<grid, 256, GEMM_SMEM>>>(dac, dwc, M, N, Kpad, das, dws, G, cpg, dlr, dup, c.r, 1, c.bias ? dbias : nullptr, dy, 0); }
    else if (c.mode == 2) { kn = grouped ? "k_gemm_s4_g" : "k_gemm_s4"; (grouped ? k_gemm_s4_g : k_gemm_s4)<<<grid, 256, GEMM_SMEM>>>(dac, dwc, M, N, Kpad, das, dws, G, cpg, dlr, dup, c.r, 1, c.bias ? dbias : nullptr, dy, 0); }
    else { kn = grouped ? "k_gemm_i4_g" : "k_gemm_i4"; (grouped ? k_gemm_i4_g : k_gemm_i4)<<<grid, 256, GEMM_SMEM>>>(dac, dwc, M, N, Kpad, das, dws, G, cpg, dlr, dup, c.r, 1, c.bias ? dbias : nullptr, dy, 0); }
    CKL(); CK(cudaDeviceSynchronize());
    std::vector<float> y((size_t)M * N);
    CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
    // reference in double from the exact codes
    double num = 0, den = 0, lrerr = 0, lrden = 0; long nan = 0;
    for (int m = 0; m < M; m++) {
        std::vector<double> lrr(std::max(c.r, 1), 0.0);
        for (int j = 0; j < c.r; j++) { double s = 0; for (int k = 0; k < Kp; k++) s += (double)xt[(size_t)m * Kpad + k] * bf16f(down[(size_t)k * c.r + j]); lrr[j] = s;
            double g2 = (double)bf16f(glr[(size_t)m * 2 * c.r + j]) + bf16f(glr[(size_t)m * 2 * c.r + c.r + j]);
            lrerr += (s - g2) * (s - g2); lrden += s * s; }
        for (int n = 0; n < N; n++) {
            double ref = 0;
            for (int g = 0; g < G; g++) {
                long acc = 0;
                for (int k = g * gs; k < (g + 1) * gs; k++) acc += (long)ac[(size_t)m * Kpad + k] * wc[(size_t)n * Kpad + k];
                ref += (double)acc * as[(size_t)m * G + g] * ws[(size_t)n * G + g];
            }
            for (int j = 0; j < c.r; j++) ref += lrr[j] * bf16f(up[(size_t)n * c.r + j]);
            if (c.bias) ref += bias[n];
            double d = y[(size_t)m * N + n];
            if (std::isnan(d)) nan++;
            num += (d - ref) * (d - ref); den += ref * ref;
        }
    }
    double rel = sqrt(num / den);
    bool ok = bad == 0 && badS == 0 && nan == 0 && rel < 1e-5 && (c.r == 0 || sqrt(lrerr / lrden) < 1e-4) && bfmis == 0;
    printf("%-28s %-15s %-12s M=%d K=%d N=%d%s%s: code mismatches %ld, scale mismatches %ld, NaN %ld, rel err %.3e, lr rel err %.3e%s -> %s\n",
           c.name, tqn, kn, M, K, N, g_xbf16 ? " x=BF16" : "", g_qmax ? " qmax=7" : "", bad, badS, nan, rel, c.r ? sqrt(lrerr / lrden) : 0.0,
           g_xbf16 ? (bfmis ? " BF16 run differs from F32 run" : " BF16 run == F32 run (bytes)") : "", ok ? "OK" : "FAIL");
    if (dxb) cudaFree(dxb);
    cudaFree(dx); cudaFree(dsm); cudaFree(dbias); cudaFree(das); cudaFree(dws); cudaFree(dy); cudaFree(dac); cudaFree(dwc);
    cudaFree(ddown); cudaFree(dup); cudaFree(dlr); cudaFree(dsh);
    if (dhi) cudaFree(dhi); if (dlo) cudaFree(dlo); if (dpart) cudaFree(dpart);
    return ok ? 0 : 1;
}

// k_lr_down alone with F32 `down` (not exact in TF32: the hi/lo path of down as well), smoothing and shift
static int check_lrdown(int M, int K, int r) {
    std::vector<float> x((size_t)M * K), d((size_t)K * r), sm(K), sh(K);
    for (auto& v : x) v = nrand();
    for (auto& v : d) v = nrand() * 0.1f;
    for (auto& v : sm) v = 0.5f + (float)urand();
    for (auto& v : sh) v = 1.0f / sm[&v - sh.data()];   // sh holds 1/smooth here
    std::vector<float> hi, lo; lr_frag(d, K, r, hi, lo);
    int nch = (K + 31) / 32, cps, ks = lr_splits(M, nch, &cps);
    float *dx, *dsm, *dsh, *dhi, *dlo = nullptr, *dp;
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dsm, K * 4)); CK(cudaMalloc(&dsh, K * 4));
    CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMalloc(&dp, (size_t)ks * M * r * 4));
    CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dsm, sm.data(), K * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dsh, sh.data(), K * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice));
    if (!lo.empty()) { CK(cudaMalloc(&dlo, lo.size() * 4)); CK(cudaMemcpy(dlo, lo.data(), lo.size() * 4, cudaMemcpyHostToDevice)); }
    launch_lrdown(dx, M, K, dsh, dhi, dlo, r, dp, ks, cps, nch);
    CKL(); CK(cudaDeviceSynchronize());
    std::vector<float> p((size_t)ks * M * r);
    CK(cudaMemcpy(p.data(), dp, p.size() * 4, cudaMemcpyDeviceToHost));
    double num = 0, den = 0, worst = 0;
    for (int m = 0; m < M; m++) for (int j = 0; j < r; j++) {
        double ref = 0, mag = 0, g = 0;
        for (int k = 0; k < K; k++) { volatile float t = x[(size_t)m * K + k] / sm[k]; ref += (double)t * d[(size_t)k * r + j]; mag += fabs((double)t * d[(size_t)k * r + j]); }
        for (int q = 0; q < ks; q++) g += p[((size_t)q * M + m) * r + j];
        num += (g - ref) * (g - ref); den += ref * ref; worst = std::max(worst, fabs(g - ref) / mag);
    }
    double rel = sqrt(num / den);
    bool ok = rel < 2e-6 && worst < 1e-6 && !lo.empty();
    printf("k_lr_down F32 down (hi+lo), smooth M=%d K=%d r=%d splits=%d: rel err %.3e, worst |err|/sum|terms| %.3e -> %s\n",
           M, K, r, ks, rel, worst, ok ? "OK" : "FAIL");
    cudaFree(dx); cudaFree(dsm); cudaFree(dsh); cudaFree(dhi); if (dlo) cudaFree(dlo); cudaFree(dp);
    return ok ? 0 : 1;
}

#ifdef NIBBLE_WGMMA
// rows stored in 256-row W block b of a layer with N rows (nwg::wblock_rows, TiledOperands.blockRows)
static int wrows(int N, int b) { int r = N - b * 256; return r >= 256 ? 256 : (r + 7) & ~7; }
// rows [rows][Kpad] bytes -> the tiled layout of k_wgmma_i8_t: blocks of R rows, 64-byte segments, 16-byte chunk c of
// row r at chunk c ^ ((r >> 1) & 3). R = 128: A (whole blocks, padding rows zero); R = 256: W (compact last block)
static std::vector<uint8_t> tile_rows(const std::vector<uint8_t>& src, int rows, int Kpad, int R) {
    const bool w = R == 256;
    const size_t stored = w ? (size_t)(rows / 256) * 256 + (rows % 256 + 7) / 8 * 8 : (size_t)(rows + R - 1) / R * R;
    std::vector<uint8_t> o(stored * Kpad, 0);
    for (int r = 0; r < rows; r++) {
        const int b = r / R, br = w ? wrows(rows, b) : R;
        for (int k = 0; k < Kpad; k++)
            o[(size_t)b * (Kpad / 64) * R * 64 + ((size_t)(k / 64) * br + r % R) * 64 + ((((k % 64) / 16) ^ ((r >> 1) & 3)) * 16) + k % 16]
                = src[(size_t)r * Kpad + k];
    }
    return o;
}
// packed INT4 rows [rows][Kpad/2] -> k_wgmma_i4w_t's W: the blocks of tile_rows (R = 256) with 32-byte unswizzled segments
static std::vector<uint8_t> tile_w4(const std::vector<uint8_t>& src, int rows, int Kpad) {
    const size_t stored = (size_t)(rows / 256) * 256 + (rows % 256 + 7) / 8 * 8;
    std::vector<uint8_t> o(stored * Kpad / 2, 0);
    for (int r = 0; r < rows; r++) {
        const int b = r / 256, br = wrows(rows, b);
        for (int s = 0; s < Kpad / 64; s++)
            memcpy(&o[(size_t)b * (Kpad / 64) * 256 * 32 + ((size_t)s * br + r % 256) * 32], &src[(size_t)r * Kpad / 2 + s * 32], 32);
    }
    return o;
}
// the kernel TensorCoreGemm.tiledPlan picks (and whether it reads A tiled)
static const char* tiled_kernel(int bits, int M, int N, int Kpad, bool* tiledA) {
    const long mb = (M + 127) / 128, tiles256 = mb * ((N + 255) / 256);
    const bool few = 2 * tiles256 < g_sms;
    // NIBBLE_NARROW_WAVES=1 (an experiment, not FusedLinear's rule yet): INT8 tiles 128 x 128 with tiled A where their
    // waves take less time, a narrow tile counted as 0.6 of a wide one (GEMM alone on an H100, session 7: 12.1 against
    // k_wgmma_i8_n128_tw's 15.9 us at 256 x 3072 x 3072, 17.8 against k_wgmma_i8_t's 21.5 at 1024 x 1152 x 4608)
    const long w256 = (tiles256 + g_sms - 1) / g_sms, w128 = (mb * ((N + 127) / 128) + g_sms - 1) / g_sms;
    const bool old = getenv("NIBBLE_NARROW_WAVES") == nullptr, n128 = old ? few : 6 * w128 < 10 * w256;
    *tiledA = true;
    // TensorCoreGemm.tiledPlan: W4 unpacked by k_wgmma_w4t_to_w8t, then the INT8 kernel, from 1024 rows where INT8
    // takes 128 x 256 tiles
    if (bits == 4 && M >= 1024 && !few && Kpad % 256 == 0)
        return n128 ? "k_wgmma_w4t_to_w8t+k_wgmma_i8_t_n128" : "k_wgmma_w4t_to_w8t+k_wgmma_i8_t";
    if (bits == 8) {
        if (old && few && Kpad % 128 == 0) { *tiledA = false; return "k_wgmma_i8_n128_tw"; }
        return n128 ? "k_wgmma_i8_t_n128" : "k_wgmma_i8_t";
    }
    return few || Kpad < 2048 ? "k_wgmma_i4w_t_n128" : "k_wgmma_i4w_t";
}
// the tiled W4 weights unpacked to INT8 (k_wgmma_w4t_to_w8t) into a transient buffer, on `stream`
static uint8_t* unpack_w4(const uint8_t* W, int N, int Kpad, cudaStream_t stream) {
    static uint8_t* w8 = nullptr; static size_t cap = 0;
    const size_t rows = (size_t)(N / 256) * 256 + (N % 256 + 7) / 8 * 8, bytes = rows * Kpad;
    if (bytes > cap) { if (w8) cudaFree(w8); CK(cudaMalloc(&w8, bytes)); cap = bytes; }
    const long long chunks = (long long)(bytes / 16);
    k_wgmma_w4t_to_w8t<<<(unsigned)((chunks + 255) / 256), 256, 0, stream>>>(W, w8, chunks, N, Kpad);
    return w8;
}
// FusedLinear.forward for the W4 unpack-first plan: the unpack on the side stream beside the transform (the GEMM waits)
static uint8_t* unpack_w4_beside(const uint8_t* W, int N, int Kpad) {
    fork_side();
    uint8_t* w8 = unpack_w4(W, N, Kpad, g_side);
    CK(cudaEventRecord(g_evUnp, g_side));
    return w8;
}
static void launch_tiled(const char* kn, const uint8_t* A, const uint8_t* W, int M, int N, int Kpad, const float* sa, const float* sw,
                         const void* lr, const void* up, int r, const float* bias, void* y, int yb) {
    const bool n128 = strstr(kn, "n128") != nullptr;
    const int tile = n128 ? 128 : 256;
    dim3 grid(std::min(((N + tile - 1) / tile) * ((M + 127) / 128), g_sms));
    // as FusedLinear: a programmatic dependent launch right after k_tq3h / k_tq3p (no low-rank branch); NIBBLE_PDL=0: plain
    const bool pdl = g_pdl && g_lastHot && lr == nullptr;
    g_lastHot = false;
    if (!strcmp(kn, "k_wgmma_i8_t")) launch_pdl(k_wgmma_i8_t, grid, 384, WGMMA_T_SMEM, pdl, A, W, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yb);
    else if (!strcmp(kn, "k_wgmma_i8_t_n128")) launch_pdl(k_wgmma_i8_t_n128, grid, 384, WGMMA_T_N128_SMEM, pdl, A, W, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yb);
    else if (!strcmp(kn, "k_wgmma_i4w_t")) launch_pdl(k_wgmma_i4w_t, grid, 384, WGMMA_I4W_T_SMEM, pdl, A, W, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yb);
    else if (!strcmp(kn, "k_wgmma_i4w_t_n128")) launch_pdl(k_wgmma_i4w_t_n128, grid, 384, WGMMA_I4W_T_N128_SMEM, pdl, A, W, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yb);
    else if (!strcmp(kn, "k_wgmma_i8_n128_tw")) k_wgmma_i8_n128_tw<<<grid, 256, WGMMA_SMEM_I8_N128>>>(A, W, M, N, Kpad, sa, sw, 1, 1, lr, up, r, 1, bias, y, yb);
    else {   // k_wgmma_w4t_to_w8t+k_wgmma_i8_t(_n128): the W4 weights unpacked into a transient INT8 copy first
        uint8_t* w8 = unpack_w4(W, N, Kpad, 0);
        launch_tiled(strchr(kn, '+') + 1, A, w8, M, N, Kpad, sa, sw, lr, up, r, bias, y, yb);
    }
}
// The tiled linear as FusedLinear runs it on sm_90 (k_tq3 writing the codes one per byte, tiled when the kernel reads A
// tiled; the GEMM TensorCoreGemm.tiledKernel picks on the weights tiled on the host) against the row-major path the
// conformance kit validated (k_tq3 with packed/INT8 codes, k_gemm_i8 / k_gemm_i4): scales equal, codes equal at their
// tiled addresses, the F32 output bit-identical, the BF16 output its round-to-nearest-even. Regular Hadamard 256 when
// K allows it.
static int check_tiled(int bits, int M, int K, int N, int r, bool hasBias, int xbf) {
    const int rot = K % 256 == 0 ? 1 : 0, al = bits == 4 ? 256 : 128, Kpad = (K + al - 1) / al * al, Mt = (M + 127) / 128 * 128;
    const int qmax = bits == 4 ? 7 : 127;
    bool tA;
    const char* kn = tiled_kernel(bits, M, N, Kpad, &tA);
    std::vector<float> x((size_t)M * K), bias(N), ws(N);
    for (auto& v : x) v = nrand();
    for (int m = 0; m < M; m++) x[(size_t)m * K + 3] *= 20.0f;
    std::vector<uint16_t> xb(x.size());
    for (size_t i = 0; i < x.size(); i++) xb[i] = bf16(x[i]);
    for (auto& v : bias) v = nrand();
    for (auto& v : ws) v = 0.01f + 0.01f * (float)urand();
    const size_t wbytes = (size_t)N * Kpad * bits / 8;
    std::vector<uint8_t> wc(wbytes);
    for (auto& v : wc) v = (uint8_t)(urand() * 256);   // any byte is a valid INT8 code or pair of INT4 codes
    std::vector<uint8_t> wt = bits == 8 ? tile_rows(wc, N, Kpad, 256) : tile_w4(wc, N, Kpad);
    std::vector<uint16_t> lrh((size_t)M * 2 * std::max(r, 1)), uph((size_t)N * std::max(r, 1));
    for (auto& v : lrh) v = bf16(nrand()); for (auto& v : uph) v = bf16(nrand() * 0.05f);
    void *dx, *dlr, *dup, *dy1, *dy2; uint8_t *dac, *dat, *dwc, *dwt; float *das, *das2, *dws, *dbias;
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dac, (size_t)M * Kpad)); CK(cudaMalloc(&dat, (size_t)Mt * Kpad));
    CK(cudaMalloc(&dwc, wc.size())); CK(cudaMalloc(&dwt, wt.size())); CK(cudaMalloc(&das, M * 4)); CK(cudaMalloc(&das2, M * 4));
    CK(cudaMalloc(&dws, N * 4)); CK(cudaMalloc(&dbias, N * 4)); CK(cudaMalloc(&dlr, lrh.size() * 2)); CK(cudaMalloc(&dup, uph.size() * 2));
    CK(cudaMalloc(&dy1, (size_t)M * N * 4)); CK(cudaMalloc(&dy2, (size_t)M * N * 4));
    if (xbf) CK(cudaMemcpy(dx, xb.data(), xb.size() * 2, cudaMemcpyHostToDevice));
    else CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dwc, wc.data(), wc.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(dwt, wt.data(), wt.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dws, ws.data(), N * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dbias, bias.data(), N * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dlr, lrh.data(), lrh.size() * 2, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dup, uph.data(), uph.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemset(dat, 0x5A, (size_t)Mt * Kpad)); CK(cudaMemset(das2, 0xFF, M * 4));
    // reference codes (packed for INT4) and the codes one per byte, tiled or not, as the kernel reads them
    launch_tq2(dx, M, K, Kpad, nullptr, nullptr, rot, 256, 1.0f / 16, bits, Kpad, 1, -qmax - 1, qmax, dac, das, nullptr, 0, 0, nullptr, 0, nullptr, 0, xbf, 0);
    launch_tq2(dx, M, K, Kpad, nullptr, nullptr, rot, 256, 1.0f / 16, 8, Kpad, 1, -qmax - 1, qmax, dat, das2, nullptr, 0, 0, nullptr, 0, nullptr, 0, xbf, tA ? 1 : 0);
    CKL(); CK(cudaDeviceSynchronize());
    std::vector<uint8_t> hac((size_t)M * Kpad * bits / 8), hat((size_t)Mt * Kpad); std::vector<float> s1(M), s2(M);
    CK(cudaMemcpy(hac.data(), dac, hac.size(), cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hat.data(), dat, hat.size(), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(s1.data(), das, M * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(s2.data(), das2, M * 4, cudaMemcpyDeviceToHost));
    long badCodes = 0, badScales = memcmp(s1.data(), s2.data(), M * 4) != 0;
    for (int m = 0; m < M; m++) for (int k = 0; k < Kpad; k++) {   // real rows only: padding rows are not written
        const int want = bits == 8 ? (int)(int8_t)hac[(size_t)m * Kpad + k]
                                   : (int)(int8_t)(uint8_t)((hac[(size_t)m * Kpad / 2 + k / 2] >> (4 * (k & 1))) << 4) >> 4;
        const size_t off = tA ? ((size_t)(m / 128) * (Kpad / 64) + k / 64) * 8192 + (m % 128) * 64 + ((((k % 64) / 16) ^ ((m >> 1) & 3)) * 16) + k % 16
                              : (size_t)m * Kpad + k;
        badCodes += (int)(int8_t)hat[off] != want;
    }
    long badF = 0, badB = 0;
    dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
    (bits == 8 ? k_gemm_i8 : k_gemm_i4)<<<grid, 256, GEMM_SMEM>>>(dac, dwc, M, N, Kpad, das, dws, 1, 1, r ? dlr : nullptr, r ? dup : nullptr, r, 1, hasBias ? dbias : nullptr, dy1, 0);
    std::vector<float> y1((size_t)M * N); std::vector<uint32_t> y2((size_t)M * N); std::vector<uint16_t> y3((size_t)M * N);
    for (int yb = 0; yb < 2; yb++) {
        CK(cudaMemset(dy2, 0xFF, (size_t)M * N * 4));
        launch_tiled(kn, dat, dwt, M, N, Kpad, das2, dws, r ? dlr : nullptr, r ? dup : nullptr, r, hasBias ? dbias : nullptr, dy2, yb);
        CKL(); CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(y1.data(), dy1, y1.size() * 4, cudaMemcpyDeviceToHost));
        if (yb == 0) {
            CK(cudaMemcpy(y2.data(), dy2, y2.size() * 4, cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < y1.size(); i++) { uint32_t a; memcpy(&a, &y1[i], 4); badF += a != y2[i]; }
        } else {
            CK(cudaMemcpy(y3.data(), dy2, y3.size() * 2, cudaMemcpyDeviceToHost));
            for (size_t i = 0; i < y1.size(); i++) badB += bf16(y1[i]) != y3[i];
        }
    }
    const bool ok = badCodes == 0 && badScales == 0 && badF == 0 && badB == 0;
    printf("tiled w%da%d %s %s M=%d K=%d N=%d r=%d%s x=%s: code mismatches %ld, scales %s, F32 mismatches %ld, BF16 mismatches %ld -> %s\n",
           bits, bits, kn, rot ? "had256" : "none", M, K, N, r, hasBias ? " bias" : "", xbf ? "BF16" : "F32", badCodes,
           badScales ? "differ" : "equal", badF, badB, ok ? "OK" : "FAIL");
    for (void* q : {dx, (void*)dac, (void*)dat, (void*)dwc, (void*)dwt, (void*)das, (void*)das2, (void*)dws, (void*)dbias, dlr, dup, dy1, dy2}) cudaFree(q);
    return ok ? 0 : 1;
}
#endif

// k_lr_down beside the transform + k_lr_sum against k_lr_down before the transform (k_tq3 summing the splits): codes, scales
// and the low-rank pairs identical byte for byte (SVDQuant: smoothing, shift, g64, INT4)
static int check_lrsum(int M, int K, int r, int xbf) {
    const int Kpad = (K + 255) / 256 * 256, G = Kpad / 64;
    std::vector<float> x((size_t)M * K), sm(K), sh(K), d((size_t)K * r);
    for (auto& v : x) v = nrand();
    for (auto& v : sm) v = 0.5f + (float)urand();
    for (auto& v : sh) v = (float)urand() - 0.5f;
    for (auto& v : d) v = bf16f(bf16(nrand() * 0.05f));
    std::vector<uint16_t> xb(x.size()); for (size_t i = 0; i < x.size(); i++) xb[i] = bf16(x[i]);
    std::vector<float> hi, lo, ism(K), lb(r);
    lr_frag(d, K, r, hi, lo);
    for (int k = 0; k < K; k++) ism[k] = (float)(1.0 / sm[k]);
    for (int j = 0; j < r; j++) { double t = 0; for (int k = 0; k < K; k++) t += (double)sh[k] * d[(size_t)k * r + j]; lb[j] = (float)t; }
    int nch = (K + 31) / 32, cps, ks = lr_splits(M, nch, &cps);
    void* dx; float *dsm, *dsh, *dism, *dlb, *dhi, *part, *as[2]; uint8_t* ac[2]; uint16_t* lr[2];
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dsm, K * 4)); CK(cudaMalloc(&dsh, K * 4)); CK(cudaMalloc(&dism, K * 4));
    CK(cudaMalloc(&dlb, r * 4)); CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMalloc(&part, (size_t)ks * M * r * 4));
    if (xbf) CK(cudaMemcpy(dx, xb.data(), xb.size() * 2, cudaMemcpyHostToDevice)); else CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dsm, sm.data(), K * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dsh, sh.data(), K * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dism, ism.data(), K * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dlb, lb.data(), r * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice));
    for (int i = 0; i < 2; i++) {
        CK(cudaMalloc(&as[i], (size_t)M * G * 4)); CK(cudaMalloc(&ac[i], (size_t)M * Kpad / 2)); CK(cudaMalloc(&lr[i], (size_t)M * 2 * r * 2));
        CK(cudaMemset(as[i], 0xFF, (size_t)M * G * 4)); CK(cudaMemset(ac[i], 0x5A, (size_t)M * Kpad / 2)); CK(cudaMemset(lr[i], 0x77, (size_t)M * 2 * r * 2));
    }
    launch_lrdown(dx, M, K, dism, dhi, nullptr, r, part, ks, cps, nch, xbf);
    launch_tq2(dx, M, K, Kpad, dsm, dsh, 0, 1, 1.0f, 4, 64, G, -8, 7, ac[0], as[0], part, ks, r, lr[0], DT_BF16, dlb, 0, xbf);
    CKL(); CK(cudaDeviceSynchronize());
    CK(cudaMemset(part, 0xFF, (size_t)ks * M * r * 4));
    lrdown_beside(dx, M, K, dism, dhi, nullptr, r, part, ks, cps, nch, xbf);
    launch_tq2(dx, M, K, Kpad, dsm, dsh, 0, 1, 1.0f, 4, 64, G, -8, 7, ac[1], as[1], nullptr, 0, r, nullptr, DT_BF16, nullptr, 0, xbf);
    lrsum_after(part, ks, r, lr[1], dlb, M);
    CKL(); CK(cudaDeviceSynchronize());
    long bad[3] = {0, 0, 0};
    size_t sz[3] = {(size_t)M * Kpad / 2, (size_t)M * G * 4, (size_t)M * 2 * r * 2};
    const void* bufs[3][2] = {{ac[0], ac[1]}, {as[0], as[1]}, {lr[0], lr[1]}};
    for (int q = 0; q < 3; q++) {
        std::vector<uint8_t> a(sz[q]), b(sz[q]);
        CK(cudaMemcpy(a.data(), bufs[q][0], sz[q], cudaMemcpyDeviceToHost)); CK(cudaMemcpy(b.data(), bufs[q][1], sz[q], cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < sz[q]; i++) bad[q] += a[i] != b[i];
    }
    const bool ok = bad[0] == 0 && bad[1] == 0 && bad[2] == 0;
    printf("k_lr_down beside k_tq + k_lr_sum M=%d K=%d r=%d x=%s: byte mismatches codes %ld scales %ld low-rank %ld -> %s\n",
           M, K, r, xbf ? "BF16" : "F32", bad[0], bad[1], bad[2], ok ? "OK" : "FAIL");
    for (void* q : {dx, (void*)dsm, (void*)dsh, (void*)dism, (void*)dlb, (void*)dhi, (void*)part, (void*)as[0], (void*)as[1],
                    (void*)ac[0], (void*)ac[1], (void*)lr[0], (void*)lr[1]}) cudaFree(q);
    return ok ? 0 : 1;
}

static void set_attrs() {
    CK(cudaFuncSetAttribute(k_tq, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
    CK(cudaFuncSetAttribute(k_tq_lr, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
    for (void* f : {(void*)k_tq3h, (void*)k_tq3h_ldg, (void*)k_tq3h_r64, (void*)k_tq3h_ldg64, (void*)k_tq3p, (void*)k_tq3p_any}) {
        CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, 16 * (TQH_WARP + TQP_RAW_F32) * 4));
        CK(cudaFuncSetAttribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, 100));
    }
    void* fs[] = {(void*)k_gemm_i8, (void*)k_gemm_i8_g, (void*)k_gemm_i4, (void*)k_gemm_i4_g, (void*)k_gemm_s4, (void*)k_gemm_s4_g};
    for (void* f : fs) CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, GEMM_SMEM));
#ifdef NIBBLE_WGMMA
    void* wfs[] = {(void*)k_wgmma_i8, (void*)k_wgmma_i4, (void*)k_wgmma_i8_n128, (void*)k_wgmma_i4_n128,
                   (void*)k_wgmma_i8_g, (void*)k_wgmma_i4_g, (void*)k_wgmma_i4w, (void*)k_wgmma_i4w_n128};
    for (void* f : wfs) CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_SMEM_I8));
    CK(cudaFuncSetAttribute(k_wgmma_i8_t, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_T_SMEM));
    CK(cudaFuncSetAttribute(k_wgmma_i8_t_n128, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_T_N128_SMEM));
    CK(cudaFuncSetAttribute(k_wgmma_i4w_t, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_I4W_T_SMEM));
    CK(cudaFuncSetAttribute(k_wgmma_i4w_t_n128, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_I4W_T_N128_SMEM));
    CK(cudaFuncSetAttribute(k_wgmma_i8_n128_tw, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_SMEM_I8_N128));
    CK(cudaFuncSetAttribute(k_wgmma_i8_t_sk, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_T_SMEM));
    CK(cudaFuncSetAttribute(k_wgmma_i8_t_n128_sk, cudaFuncAttributeMaxDynamicSharedMemorySize, WGMMA_T_N128_SMEM));
#endif
}

// ---------------------------------------------------------------- peak INT8 mma.sync rate
__global__ void k_mma_peak(int* out, int iters) {
    int acc[8][4] = {};
    uint32_t a0 = threadIdx.x, a1 = a0 * 3, a2 = a0 * 5, a3 = a0 * 7, b0 = a0 * 11, b1 = a0 * 13;
    for (int i = 0; i < iters; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) mma_s8(acc[j], a0, a1, a2, a3, b0, b1);
    int s = 0; for (int j = 0; j < 8; j++) for (int t = 0; t < 4; t++) s += acc[j][t];
    if (s == 0x7fffffff) out[0] = s;
}

// tqcheck: k_tq3h's INT8 codes in the tiled layout (and row-major) against k_tq3's, byte for byte over the whole buffer
// (rows past M keep their poison), and the scales; F32 and BF16 x, ConvRot W8A8 and W8 with 4-bit codes
static int tq_tiled_check(int hv) {
    int fails = 0;
    int shapes[][2] = {{300, 1152}, {129, 3072}, {77, 12288}, {256, 1024}, {5, 16384}};
    for (auto& sh : shapes) for (int xb = 0; xb < 2; xb++) for (int qmax : {127, 7}) for (int tiled = 0; tiled < 2; tiled++) {
        const int M = sh[0], K = sh[1], Kpad = (K + 255) / 256 * 256, Mt = (M + 127) / 128 * 128;
        std::vector<float> x((size_t)M * K); std::vector<uint16_t> hb(x.size());
        for (size_t i = 0; i < x.size(); i++) { x[i] = nrand() * (i % 97 == 5 ? 25.0f : 1.0f); hb[i] = bf16(x[i]); }
        void* dx; uint8_t *c1, *c2; float *s1, *s2;
        CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&c1, (size_t)Mt * Kpad)); CK(cudaMalloc(&c2, (size_t)Mt * Kpad));
        CK(cudaMalloc(&s1, M * 4)); CK(cudaMalloc(&s2, M * 4));
        if (xb) CK(cudaMemcpy(dx, hb.data(), hb.size() * 2, cudaMemcpyHostToDevice));
        else CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
        CK(cudaMemset(c1, 0x5A, (size_t)Mt * Kpad)); CK(cudaMemset(c2, 0x5A, (size_t)Mt * Kpad));
        CK(cudaMemset(s1, 0xFF, M * 4)); CK(cudaMemset(s2, 0xFF, M * 4));
        const long before = g_hotLaunches;
        g_tq = 3;
        launch_tq2(dx, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -qmax - 1, qmax, c1, s1, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb, tiled);
        g_tq = hv;
        launch_tq2(dx, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -qmax - 1, qmax, c2, s2, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb, tiled);
        CKL(); CK(cudaDeviceSynchronize());
        std::vector<uint8_t> h1((size_t)Mt * Kpad), h2(h1.size()); std::vector<float> t1(M), t2(M);
        CK(cudaMemcpy(h1.data(), c1, h1.size(), cudaMemcpyDeviceToHost)); CK(cudaMemcpy(h2.data(), c2, h2.size(), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(t1.data(), s1, M * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(t2.data(), s2, M * 4, cudaMemcpyDeviceToHost));
        long bad = 0; for (size_t i = 0; i < h1.size(); i++) bad += h1[i] != h2[i];
        const bool sok = memcmp(t1.data(), t2.data(), M * 4) == 0, ran = g_hotLaunches == before + 1;
        const bool ok = bad == 0 && sok && ran;
        g_tq = 0;
        printf("tq3h(%d) vs tq3 %s M=%d K=%d x=%s qmax=%d: byte mismatches %ld, scales %s, k_tq3h %s -> %s\n", hv, tiled ? "tiled" : "rows",
               M, K, xb ? "BF16" : "F32", qmax, bad, sok ? "equal" : "DIFFER", ran ? "ran" : "DID NOT RUN", ok ? "OK" : "FAIL");
        fails += !ok;
        cudaFree(dx); cudaFree(c1); cudaFree(c2); cudaFree(s1); cudaFree(s2);
    }
    return fails;
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

// µs per call of step, as every timing of this harness: 5 calls of warm-up, then `samples` times 10 calls back to back
// between two CUDA events; the median
template <class F>
static float median_us(cudaEvent_t e0, cudaEvent_t e1, int samples, F&& step) {
    for (int i = 0; i < 5; i++) step();
    CKL(); CK(cudaDeviceSynchronize());
    std::vector<float> t;
    for (int s = 0; s < samples; s++) {
        CK(cudaEventRecord(e0));
        for (int i = 0; i < 10; i++) step();
        CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); t.push_back(ms * 100.0f);
    }
    CKL();
    return median(t);
}

// ./harness tqbench: the transform+quantize kernels alone, F32 and BF16 x, each launch mode, every shape of the bench
static int tq_bench(const cudaDeviceProp& p) {
    set_attrs();
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    double copy;
    {
        size_t bytes = 1ull << 30; void *a, *b; CK(cudaMalloc(&a, bytes)); CK(cudaMalloc(&b, bytes)); CK(cudaMemset(a, 1, bytes));
        std::vector<float> t;
        for (int i = 0; i < 12; i++) { CK(cudaEventRecord(e0)); CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1)); float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (i >= 2) t.push_back(ms); }
        copy = 2.0 * bytes / (median(t) * 1e-3) / 1e9;
        printf("RESULT copy_d2d_GBps %.1f\n", copy);
        cudaFree(a); cudaFree(b);
    }
    int Ms[] = {256, 1024, 4096};
    int KNs[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    const char* only = getenv("NIBBLE_BENCH_ONLY");
    // NIBBLE_TQ_VARIANTS=0,1,3: some of the variants below; NIBBLE_TQ_CONFIGS="name:tq,tqr[,B];...": each variant under each
    // launch configuration (NIBBLE_TQ = 2: k_tq2, NIBBLE_TQR as in launch_tq2), same data, same call;
    // NIBBLE_TQ_DEDUP: K = 3072 once (the transform does not depend on N); NIBBLE_TQ_M: one M
    std::vector<int> vlist;
    if (const char* vs = getenv("NIBBLE_TQ_VARIANTS")) { for (const char* c = vs; *c;) { vlist.push_back(atoi(c)); while (*c && *c != ',') c++; if (*c) c++; } }
    else for (int v = 0; v < 7; v++) vlist.push_back(v);
    struct Cfg { std::string name; int tq, tqr, B; };
    std::vector<Cfg> cfgs;
    if (const char* cs = getenv("NIBBLE_TQ_CONFIGS")) {
        std::string all(cs);
        size_t i = 0;
        while (i < all.size()) {
            size_t j = all.find(';', i); if (j == std::string::npos) j = all.size();
            std::string one = all.substr(i, j - i); i = j + 1;
            size_t c = one.find(':'); Cfg f{one.substr(0, c), 0, 0, 0};
            sscanf(one.c_str() + c + 1, "%d,%d,%d", &f.tq, &f.tqr, &f.B);   // B: k_tq3p blocks per SM
            cfgs.push_back(f);
        }
    } else cfgs.push_back({"default", g_tq, g_tqr, g_tqpB});
    bool only3072 = getenv("NIBBLE_TQ_DEDUP") != nullptr;
    for (auto& kn : KNs) for (int M : Ms) {
        int K = kn[0];
        if (only3072 && K == 3072 && kn[1] != 3072) continue;
        if (const char* ms = getenv("NIBBLE_TQ_M")) { if (atoi(ms) != M) continue; }   // one M only
        if (only != nullptr) { int m1, k1, n1; if (sscanf(only, "%d,%d,%d", &m1, &k1, &n1) == 3 && (m1 != M || k1 != K || n1 != kn[1])) continue; }
        int Kpad = (K + 255) / 256 * 256, G = Kpad / 64;
        size_t xbytes = (size_t)M * K * 4;
        int sets = (int)std::min<size_t>(32, std::max<size_t>(2, (200ull << 20) / xbytes + 1));
        std::vector<float*> xs(sets); std::vector<uint16_t*> xbs(sets);
        std::vector<float> hx((size_t)M * K); std::vector<uint16_t> hb(hx.size());
        for (size_t i = 0; i < hx.size(); i++) { hb[i] = bf16(nrand()); hx[i] = bf16f(hb[i]) * (1.0f + (float)(i & 7) * 1e-3f); }
        for (int s = 0; s < sets; s++) {   // the sets differ in address (past L2), not in content
            CK(cudaMalloc(&xs[s], xbytes)); CK(cudaMalloc(&xbs[s], xbytes / 2));
            if (s == 0) { CK(cudaMemcpy(xs[0], hx.data(), xbytes, cudaMemcpyHostToDevice)); CK(cudaMemcpy(xbs[0], hb.data(), xbytes / 2, cudaMemcpyHostToDevice)); }
            else { CK(cudaMemcpy(xs[s], xs[0], xbytes, cudaMemcpyDeviceToDevice)); CK(cudaMemcpy(xbs[s], xbs[0], xbytes / 2, cudaMemcpyDeviceToDevice)); }
        }
        float *sm, *as, *dhi, *part; uint8_t* ac; uint16_t* lr;
        CK(cudaMalloc(&sm, K * 4)); CK(cudaMalloc(&as, (size_t)M * G * 4)); CK(cudaMalloc(&ac, (size_t)M * Kpad)); CK(cudaMalloc(&lr, (size_t)M * 64 * 2));
        { std::vector<float> s(K); for (auto& v : s) v = 0.5f + (float)urand(); CK(cudaMemcpy(sm, s.data(), K * 4, cudaMemcpyHostToDevice)); }
        int nch = (K + 31) / 32, cps, ks = lr_splits(M, nch, &cps);
        {
            std::vector<float> df((size_t)K * 32), hi, lo; for (auto& v : df) v = bf16f(bf16(nrand() * 0.05f));
            lr_frag(df, K, 32, hi, lo);
            CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&part, (size_t)ks * M * 32 * 4)); CK(cudaMemset(part, 0, (size_t)ks * M * 32 * 4));
        }
        int it = 0;
        // v: 0 w4a4 ConvRot (had256, per token), 1 w8a8 ConvRot, 2 bits 8 with codes -8..7, 3 w4a4 g64 (smoothing),
        //    4 SVDQuant k_tq2 (g64, smoothing, sums the k_lr_down splits), 5 k_lr_down r32 alone, 6 SVDQuant k_lr_down + k_tq2
        const char* names[] = {"w4a4_convrot", "w8a8_convrot", "w8_q4_convrot", "w4a4_g64", "svdq_tq2", "lr_down_r32", "svdq_down+tq2"};
        for (int v : vlist) for (auto& cf : cfgs) for (int xb = 0; xb < 2; xb++) {
            g_tq = cf.tq; g_tqr = cf.tqr; g_tqpB = cf.B;
            auto step = [&]() {
                const void* x = xb ? (const void*)xbs[it % sets] : (const void*)xs[it % sets];
                if (v == 5 || v == 6) launch_lrdown(x, M, K, sm, dhi, nullptr, 32, part, ks, cps, nch, xb);
                if (v == 0) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 4, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb);
                if (v == 1) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -128, 127, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb);
                if (v == 2) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb);
                if (v == 3) launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, xb);
                if (v == 4 || v == 6) launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, part, ks, 32, lr, DT_BF16, nullptr, 0, xb);
                it++;
            };
            double us = median_us(e0, e1, 40, step);
            int bits = v == 0 || v >= 3 ? 4 : 8;
            double bytes = (double)M * K * (xb ? 2 : 4);
            if (v != 5) bytes += (double)M * Kpad * bits / 8 + (double)M * (v >= 3 ? G : 1) * 4;
            // copy_us: the D2D copy of the same bytes at the measured copy bandwidth
            printf("TQ M=%d K=%d %-14s x=%s %-8s us %.2f GBps %.0f copy%% %.0f copy_us %.2f\n", M, K, names[v], xb ? "BF16" : "F32 ",
                   cf.name.c_str(), us, bytes / (us * 1e-6) / 1e9, 100.0 * bytes / (us * 1e-6) / 1e9 / copy, bytes / (copy * 1e9) * 1e6);
        }
        for (int s = 0; s < sets; s++) { cudaFree(xs[s]); cudaFree(xbs[s]); }
        cudaFree(sm); cudaFree(as); cudaFree(ac); cudaFree(lr); cudaFree(dhi); cudaFree(part);
    }
    return 0;
}

// ./harness profile: one launch each (for a profiler) at M = 4096, K = 3072: the register path's ConvRot W4A4 F32 x, BF16 x,
// W8A8 BF16 x, g64 with smoothing F32 x, k_lr_down r32 F32 x, BF16 x
static int tq_profile() {
    set_attrs();
    const int M = 4096, K = 3072, Kpad = 3072, G = Kpad / 64;
    std::vector<float> hx((size_t)M * K); std::vector<uint16_t> hb(hx.size());
    for (size_t i = 0; i < hx.size(); i++) { hb[i] = bf16(nrand()); hx[i] = bf16f(hb[i]); }
    float *x, *sm, *as, *dhi, *part; uint16_t* xb; uint8_t* ac;
    CK(cudaMalloc(&x, hx.size() * 4)); CK(cudaMalloc(&xb, hx.size() * 2)); CK(cudaMalloc(&sm, K * 4)); CK(cudaMalloc(&as, (size_t)M * G * 4));
    CK(cudaMalloc(&ac, (size_t)M * Kpad));
    CK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(xb, hb.data(), hb.size() * 2, cudaMemcpyHostToDevice));
    { std::vector<float> s(K); for (auto& v : s) v = 0.5f + (float)urand(); CK(cudaMemcpy(sm, s.data(), K * 4, cudaMemcpyHostToDevice)); }
    int nch = (K + 31) / 32, cps, ks = lr_splits(M, nch, &cps);
    { std::vector<float> df((size_t)K * 32), hi, lo; for (auto& v : df) v = bf16f(bf16(nrand() * 0.05f)); lr_frag(df, K, 32, hi, lo);
      CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice)); }
    CK(cudaMalloc(&part, (size_t)ks * M * 32 * 4));
    launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 4, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, 0);
    launch_tq2(xb, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 4, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, 1);
    launch_tq2(xb, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -128, 127, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, 1);
    launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, 0, 0);
    launch_lrdown(x, M, K, sm, dhi, nullptr, 32, part, ks, cps, nch, 0);
    launch_lrdown(xb, M, K, sm, dhi, nullptr, 32, part, ks, cps, nch, 1);
    CKL(); CK(cudaDeviceSynchronize());
    printf("profile: 6 launches done\n");
    return 0;
}

#ifdef NIBBLE_WGMMA
// ---------------------------------------------------------------- split K (k_wgmma_i8_t_sk, k_wgmma_i8_t_n128_sk)
// `skcheck`: every split count against k_wgmma_i8_t's output, byte for byte (BF16 and F32 out, bias, partial tiles,
// each launch twice: the tile counters must be left zero). `skbench`: the GEMM alone at small M, µs (median of 30 x 10
// launches), the dispatched kernel (tiled_kernel) and the unsplit tiled kernels beside the split ones.
struct SkBufs { uint8_t *A, *W; float *sa, *sw, *bias; void* Y; int *ws, *cnt; };
static SkBufs sk_alloc(int M, int N, int Kpad) {
    SkBufs b;
    const size_t ar = (size_t)(M + 127) / 128 * 128, wr = (size_t)(N + 255) / 256 * 256;
    CK(cudaMalloc(&b.A, ar * Kpad)); CK(cudaMalloc(&b.W, wr * Kpad));
    CK(cudaMalloc(&b.sa, M * 4)); CK(cudaMalloc(&b.sw, N * 4)); CK(cudaMalloc(&b.bias, N * 4)); CK(cudaMalloc(&b.Y, (size_t)M * N * 4));
    // the split sums of up to 16 splits of either tile width; a counter per tile
    const size_t mb = (M + 127) / 128, tiles = mb * ((N + 127) / 128);
    const size_t wsBytes = std::max(tiles * 128 * 128, mb * ((N + 255) / 256) * 128 * 256) * 4 * std::min(16, Kpad / 64);
    CK(cudaMalloc(&b.ws, wsBytes)); CK(cudaMalloc(&b.cnt, tiles * 4)); CK(cudaMemset(b.cnt, 0, tiles * 4));
    std::vector<uint8_t> h(std::max(ar, wr) * Kpad); for (auto& v : h) v = (uint8_t)(urand() * 256);
    CK(cudaMemcpy(b.A, h.data(), ar * Kpad, cudaMemcpyHostToDevice));
    for (auto& v : h) v = (uint8_t)(urand() * 256);
    CK(cudaMemcpy(b.W, h.data(), wr * Kpad, cudaMemcpyHostToDevice));
    std::vector<float> f(std::max(M, N));
    for (auto& v : f) v = 0.001f + (float)urand() * 0.01f; CK(cudaMemcpy(b.sa, f.data(), M * 4, cudaMemcpyHostToDevice));
    for (auto& v : f) v = 0.001f + (float)urand() * 0.01f; CK(cudaMemcpy(b.sw, f.data(), N * 4, cudaMemcpyHostToDevice));
    for (auto& v : f) v = nrand(); CK(cudaMemcpy(b.bias, f.data(), N * 4, cudaMemcpyHostToDevice));
    return b;
}
static void sk_free(SkBufs& b) { cudaFree(b.A); cudaFree(b.W); cudaFree(b.sa); cudaFree(b.sw); cudaFree(b.bias); cudaFree(b.Y); cudaFree(b.ws); cudaFree(b.cnt); }
// tile width 256 or 128, splits >= 1
static void sk_launch(const SkBufs& b, int M, int N, int Kpad, int tn, int splits, int yb) {
    const int items = ((M + 127) / 128) * ((N + tn - 1) / tn) * splits;
    dim3 grid(std::min(items, g_sms));
    if (tn == 256) k_wgmma_i8_t_sk<<<grid, 384, WGMMA_T_SMEM>>>(b.A, b.W, M, N, Kpad, b.sa, b.sw, 1, 1, nullptr, nullptr, 0, 1, b.bias, b.Y, yb, splits, b.ws, b.cnt);
    else k_wgmma_i8_t_n128_sk<<<grid, 384, WGMMA_T_N128_SMEM>>>(b.A, b.W, M, N, Kpad, b.sa, b.sw, 1, 1, nullptr, nullptr, 0, 1, b.bias, b.Y, yb, splits, b.ws, b.cnt);
}
static int sk_main(bool bench) {
    set_attrs();
    if (!bench) {
        int shapes[][3] = {{256, 3072, 3072}, {200, 1152, 1000}, {77, 12288, 4608}, {1024, 3072, 3072}, {384, 2048, 2560}, {129, 256, 520}};
        int fails = 0, runs = 0;
        for (auto& sh : shapes) {
            const int M = sh[0], Kpad = sh[1], N = sh[2], KT = Kpad / 64;
            SkBufs b = sk_alloc(M, N, Kpad);
            for (int yb = 0; yb < 2; yb++) {
                const size_t bytes = (size_t)M * N * (yb ? 2 : 4);
                std::vector<uint8_t> ref(bytes), got(bytes);
                CK(cudaMemset(b.Y, 0, bytes));
                launch_tiled("k_wgmma_i8_t", b.A, b.W, M, N, Kpad, b.sa, b.sw, nullptr, nullptr, 0, b.bias, b.Y, yb);
                CKL(); CK(cudaDeviceSynchronize());
                CK(cudaMemcpy(ref.data(), b.Y, bytes, cudaMemcpyDeviceToHost));
                int ss[] = {1, 2, 3, 5, 7, 16, KT};
                for (int tn : {256, 128})
                    for (int sp : ss) {
                        if (sp > KT || sp > 16) continue;
                        for (int rep = 0; rep < 2; rep++) {
                            CK(cudaMemset(b.Y, 0xFF, bytes));
                            sk_launch(b, M, N, Kpad, tn, sp, yb);
                            CKL(); CK(cudaDeviceSynchronize());
                            CK(cudaMemcpy(got.data(), b.Y, bytes, cudaMemcpyDeviceToHost));
                            size_t bad = 0;
                            for (size_t i = 0; i < bytes; i++) bad += got[i] != ref[i];
                            runs++;
                            if (bad) { fails++; printf("FAIL skcheck M=%d K=%d N=%d tile %d splits %d %s run %d: %zu bytes differ\n", M, Kpad, N, tn, sp, yb ? "BF16" : "F32", rep, bad); }
                        }
                    }
            }
            sk_free(b);
        }
        printf("skcheck: %d runs, %d failures\n", runs, fails);
        return fails ? 1 : 0;
    }
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    int Ms[] = {256, 1024};
    int KNs[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    for (auto& kn : KNs) for (int M : Ms) {
        const int Kpad = kn[0], N = kn[1], KT = Kpad / 64;
        SkBufs b = sk_alloc(M, N, Kpad);
        auto time = [&](auto&& f) { return median_us(e0, e1, 30, f); };
        bool tA;
        const char* kd = tiled_kernel(8, M, N, Kpad, &tA);
        printf("SK M=%d K=%d N=%d dispatched %s %.2f", M, Kpad, N, kd,
               time([&] { launch_tiled(kd, b.A, b.W, M, N, Kpad, b.sa, b.sw, nullptr, nullptr, 0, b.bias, b.Y, 1); }));
        printf(" | t256 %.2f t128 %.2f",
               time([&] { launch_tiled("k_wgmma_i8_t", b.A, b.W, M, N, Kpad, b.sa, b.sw, nullptr, nullptr, 0, b.bias, b.Y, 1); }),
               time([&] { launch_tiled("k_wgmma_i8_t_n128", b.A, b.W, M, N, Kpad, b.sa, b.sw, nullptr, nullptr, 0, b.bias, b.Y, 1); }));
        for (int tn : {256, 128}) {
            const int tiles = ((M + 127) / 128) * ((N + tn - 1) / tn);
            for (int sp : {2, 3, 4, 5, 6, 8, 12}) {
                if (sp > KT || sp > 16 || tiles * sp > 2 * g_sms) continue;
                printf(" | sk%d x%d (%d items) %.2f", tn, sp, tiles * sp, time([&] { sk_launch(b, M, N, Kpad, tn, sp, 1); }));
            }
        }
        printf("\n");
        fflush(stdout);
        sk_free(b);
    }
    return 0;
}
#endif

int main(int argc, char** argv) {
    bool bench = argc > 1 && !strcmp(argv[1], "bench");
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0));
    g_sms = p.multiProcessorCount;
    if (argc > 1 && !strcmp(argv[1], "tqbench")) return tq_bench(p);
#ifdef NIBBLE_WGMMA
    if (argc > 1 && (!strcmp(argv[1], "skcheck") || !strcmp(argv[1], "skbench"))) return sk_main(!strcmp(argv[1], "skbench"));
#endif
    if (argc > 1 && !strcmp(argv[1], "profile")) return tq_profile();
    if (argc > 1 && !strcmp(argv[1], "tqcheck")) {
        // k_tq3's launch variants (rounds per warp, 1-4 rows per block, clip < 1) against the host: codes and scales bit
        // for bit, F32 and BF16 x (K % 8 = 4: BF16 rows not 16-byte aligned)
        set_attrs();
        int fails = 0;
        Case cs[] = {
            {"w4a4 convrot had256 tok", 4, 256, 0, 0, false, true, 1},
            {"w8a8 convrot had256 tok", 8, 256, 0, 0, false, true, 0},
            {"w8a8 had64 tok", 8, 64, 0, 0, false, true, 0},
            {"w8a8 none tok smooth", 8, 0, 0, 0, true, false, 0},
            {"svdquant w4a4 g64 r32", 4, 0, 64, 32, true, true, 1},
            {"w4a4 g128 had16", 4, 16, 128, 0, false, false, 1},
            {"w8a8 g32 had4", 8, 4, 32, 0, false, true, 0},
            {"w4a4 g64 r64 shift", 4, 0, 64, 64, false, true, 1, true},
        };
        struct Cf { int r; } cfs[] = {{0}, {1}, {2}};
        int shapes[][2] = {{300, 1152}, {301, 768}, {203, 512}, {257, 3072}, {100, 12288}, {150, 1156}, {77, 16384}, {129, 2048},
                           {66, 4096}};
        g_xbf16 = 1;
        for (auto& f : cfs) {
            g_tqr = f.r;
            printf("-- NIBBLE_TQR=%d\n", f.r);
            for (auto& sh : shapes) for (auto& c : cs) fails += check_case(c, sh[0], sh[1], 16, true);
        }
        g_clip = 0.9f; g_tqr = 0;
        for (int rr : {1, 2}) {
            g_tqr = rr;
            printf("-- clip 0.9 (clamped kernels) NIBBLE_TQR=%d\n", rr);
            for (auto& sh : shapes) for (auto& c : cs) fails += check_case(c, sh[0], sh[1], 16, true);
        }
        g_clip = 1.0f; g_tqr = 0;
        for (int hv : {4, 5, 6, 7, 8, 9}) {   // k_tq3h / k_tq3p at every shape, and the experiment kernels (tqbench), r = 0 configuration
            g_tq = hv;
            printf("-- k_tq3h experiment NIBBLE_TQ=%d\n", hv);
            for (auto& sh : shapes) for (auto& c : cs) fails += check_case(c, sh[0], sh[1], 16, true);
        }
        g_tq = 0; g_xbf16 = 0;
        for (int hv : {4, 5, 6, 7, 8, 9}) fails += tq_tiled_check(hv);
        printf("tqcheck: k_tq3h ran %ld times\n", g_hotLaunches);
        printf("tqcheck: %d failures\n", fails);
        return fails ? 1 : 0;
    }
    printf("device: %s, cc %d.%d, %d SMs, L2 %d MB\n", p.name, p.major, p.minor, p.multiProcessorCount, p.l2CacheSize >> 20);
    for (int t : {160, 192, 384, 512, 768, 1024}) {
        int a = 0, b = 0;
        if (t <= 512) CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&a, k_tq2_s1, t, 0));
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, k_tq2_s2, t, 0));
        printf("occupancy: %d threads: k_tq2_s1 %d, k_tq2_s2 %d blocks/SM\n", t, a, b);
    }
    set_attrs();
    int fails = 0;
    Case cases[] = {
        {"w4a4 convrot had256 tok", 4, 256, 0, 0, false, true, 1},
        {"w4a4 convrot had256 s4", 4, 256, 0, 0, false, true, 2},
        {"w8a8 had64 tok", 8, 64, 0, 0, false, true, 0},
        {"w8a8 none tok", 8, 0, 0, 0, true, false, 0},
        {"svdquant w4a4 g64 r32", 4, 0, 64, 32, true, true, 1},
        {"svdquant w4a4 g64 r32 s4", 4, 0, 64, 32, true, true, 2},
        {"w8a8 g64 r16", 8, 16, 64, 16, false, true, 0},
        {"w4a4 g128 had16", 4, 16, 128, 0, false, false, 1},
    };
    Case more[] = {
        {"w8a8 sylvester16 shift tok", 8, -16, 0, 0, false, false, 0, true},
        {"w4a4 sylvester256 g256", 4, -256, 256, 0, false, true, 1},
        {"w8a8 g32 had4", 8, 4, 32, 0, false, true, 0},
        {"w4a4 g64 r64 shift", 4, 0, 64, 64, false, true, 1, true},
        {"w4a4 g512 r48 smooth shift", 4, 0, 512, 48, true, true, 1, true},
        {"w4a4 g128 r16 smooth", 4, 0, 128, 16, true, false, 1},
    };
    for (auto& c : cases) { fails += check_case(c, 300, 1152, 200, false); }
    for (auto& c : cases) { fails += check_case(c, 300, 1152, 200, true); }
    for (int i = 0; i < 4; i++) fails += check_case(more[i], 300, 1152, 200, true);
    for (int i = 4; i < 6; i++) fails += check_case(more[i], 200, 2048, 128, true);
    fails += check_case(cases[0], 1024, 3072, 3072, true);
    fails += check_case(cases[2], 96, 12288, 256, true);
    fails += check_case(cases[0], 64, 12288, 256, true);
    fails += check_case(cases[4], 257, 3072, 1000, true);
    fails += check_case(cases[4], 1031, 12288, 256, true);
    for (int f : {2, 4}) {   // the other segments-per-warp instantiations
        g_forceSpw = f;
        fails += check_case(cases[0], 200, 3072, 64, true);
        fails += check_case(cases[4], 200, 3072, 64, true);
        fails += check_case(more[0], 100, 1152, 64, true);
        fails += check_case(more[4], 100, 2048, 64, true);
        g_forceSpw = 0;
    }
#ifdef NIBBLE_WGMMA
    for (int bits : {8, 4}) {   // the tiled path of every shape class: 128 x 256 tiles, the narrow kernels, edges
        fails += check_tiled(bits, 300, 1152, 200, 0, true, 0);
        fails += check_tiled(bits, 4096, 3072, 3072, 0, true, 1);
        fails += check_tiled(bits, 256, 3072, 3072, 0, true, 1);
        fails += check_tiled(bits, 1024, 1152, 4608, 0, true, 1);
        fails += check_tiled(bits, 257, 3072, 130, 32, true, 1);
        fails += check_tiled(bits, 77, 1000, 264, 16, false, 0);
        fails += check_tiled(bits, 1000, 2048, 1000, 64, true, 0);
    }
#endif
    fails += check_lrsum(300, 1152, 32, 0);
    fails += check_lrsum(4096, 3072, 32, 1);
    fails += check_lrsum(77, 12288, 64, 1);
    fails += check_lrdown(333, 1000, 32);
    fails += check_lrdown(70, 3072, 64);
    // BF16 input (bit-identical to the F32 run on the widened values), the launch variants, bits 8 with 4-bit codes
    g_xbf16 = 1;
    fails += check_case(cases[0], 300, 1152, 64, true);
    fails += check_case(cases[2], 300, 1152, 64, true);
    fails += check_case(cases[3], 300, 1152, 64, true);
    fails += check_case(cases[4], 300, 1152, 64, true);
    fails += check_case(more[0], 300, 1152, 64, true);
    fails += check_case(more[3], 300, 1152, 64, true);
    fails += check_case(more[4], 200, 2048, 64, true);
    fails += check_case(cases[0], 1024, 3072, 64, true);
    fails += check_case(cases[4], 1031, 3072, 64, true);
    fails += check_case(cases[0], 4100, 1152, 32, true);
    fails += check_case(cases[4], 257, 12288, 64, true);
    g_forceSpw = 2; fails += check_case(cases[0], 200, 3072, 64, true); g_forceSpw = 0;
    g_forceSpw = 4; fails += check_case(cases[4], 200, 3072, 64, true); g_forceSpw = 0;
    g_xbf16 = 0;
    g_qmax = 7;
    fails += check_case(cases[2], 300, 1152, 64, true);
    fails += check_case(cases[3], 300, 1152, 64, true);
    g_xbf16 = 1; fails += check_case(cases[2], 1024, 3072, 64, true); g_xbf16 = 0;
    g_qmax = 0;
    printf("check: %d failures\n", fails);
    if (!bench) return fails ? 1 : 0;

    // ---- ceilings
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    {
        size_t bytes = 1ull << 30; void *a, *b; CK(cudaMalloc(&a, bytes)); CK(cudaMalloc(&b, bytes)); CK(cudaMemset(a, 1, bytes));
        std::vector<float> t;
        for (int i = 0; i < 12; i++) { CK(cudaEventRecord(e0)); CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1)); float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (i >= 2) t.push_back(ms); }
        printf("RESULT copy_d2d_GBps %.1f\n", 2.0 * bytes / (median(t) * 1e-3) / 1e9);
        cudaFree(a); cudaFree(b);
        int* o; CK(cudaMalloc(&o, 4)); int iters = 4096; int blocks = p.multiProcessorCount * 8;
        t.clear();
        for (int i = 0; i < 8; i++) { CK(cudaEventRecord(e0)); k_mma_peak<<<blocks, 256>>>(o, iters); CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1)); CKL(); float ms; CK(cudaEventElapsedTime(&ms, e0, e1)); if (i >= 2) t.push_back(ms); }
        double ops = 2.0 * 16 * 8 * 32 * 8.0 * iters * (blocks * 8.0);
        printf("RESULT mma_s8_peak_TOPS %.1f\n", ops / (median(t) * 1e-3) / 1e12);
        cudaFree(o);
    }
    // ---- fused linears
    int Ms[] = {256, 1024, 4096};
    int KNs[][2] = {{3072, 3072}, {3072, 12288}, {12288, 3072}, {1152, 4608}};
    // ./harness bench issue: M = 4096, K = N = 3072 only; NIBBLE_BENCH_ONLY="M,K,N": just that shape
    const bool issue = argc > 2 && !strcmp(argv[2], "issue");
    const char* only = getenv("NIBBLE_BENCH_ONLY");
    for (auto& kn : KNs) for (int M : Ms) {
        int K = kn[0], N = kn[1];
        if (issue && !(M == 4096 && K == 3072 && N == 3072)) continue;
        if (only != nullptr) { int m1, k1, n1; if (sscanf(only, "%d,%d,%d", &m1, &k1, &n1) == 3 && (m1 != M || k1 != K || n1 != N)) continue; }
        int Kpad = (K + 255) / 256 * 256;
        // NIBBLE_XBF16=1: BF16 activations (the transform reads bf16[M][K]; the GEMM variants with BF16 output then
        // make the whole linear BF16 in / BF16 out, as the cuBLAS peer)
        const int xb16 = getenv("NIBBLE_XBF16") && atoi(getenv("NIBBLE_XBF16")) == 1;
        size_t xbytes = (size_t)M * K * (xb16 ? 2 : 4);
        int sets = (int)std::min<size_t>(32, std::max<size_t>(2, (200ull << 20) / xbytes + 1));
        std::vector<void*> xs(sets);
        std::vector<float> hx((size_t)M * K);
        std::vector<uint16_t> hb(xb16 ? hx.size() : 0);
        for (int s = 0; s < sets; s++) {
            for (auto& v : hx) v = nrand();
            if (xb16) for (size_t i = 0; i < hx.size(); i++) hb[i] = bf16(hx[i]);
            CK(cudaMalloc(&xs[s], xbytes));
            CK(cudaMemcpy(xs[s], xb16 ? (const void*)hb.data() : (const void*)hx.data(), xbytes, cudaMemcpyHostToDevice));
        }
        float *sm, *bias, *as, *ws, *y; uint8_t *ac, *wc4, *wc8; uint16_t *down, *up, *lr;
        int G = Kpad / 64;
        CK(cudaMalloc(&sm, K * 4)); CK(cudaMalloc(&bias, N * 4)); CK(cudaMalloc(&as, (size_t)M * G * 4)); CK(cudaMalloc(&ws, (size_t)N * G * 4));
        CK(cudaMalloc(&y, (size_t)M * N * 4)); CK(cudaMalloc(&ac, (size_t)M * Kpad)); CK(cudaMalloc(&wc4, (size_t)N * Kpad / 2)); CK(cudaMalloc(&wc8, (size_t)N * Kpad));
        CK(cudaMalloc(&down, (size_t)Kpad * 32 * 2)); CK(cudaMalloc(&up, (size_t)N * 32 * 2)); CK(cudaMalloc(&lr, (size_t)M * 64 * 2));
        {
            std::vector<uint8_t> r8((size_t)N * Kpad); for (auto& v : r8) v = (uint8_t)(urand() * 256);
            CK(cudaMemcpy(wc8, r8.data(), r8.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(wc4, r8.data(), r8.size() / 2, cudaMemcpyHostToDevice));
            std::vector<float> f((size_t)N * G); for (auto& v : f) v = 0.01f + (float)urand() * 0.01f; CK(cudaMemcpy(ws, f.data(), f.size() * 4, cudaMemcpyHostToDevice));
            std::vector<float> s(K); for (auto& v : s) v = 0.5f + (float)urand(); CK(cudaMemcpy(sm, s.data(), K * 4, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(bias, s.data(), std::min(K, N) * 4, cudaMemcpyHostToDevice));
            std::vector<uint16_t> h((size_t)std::max(Kpad, N) * 32); for (auto& v : h) v = bf16(nrand() * 0.05f);
            CK(cudaMemcpy(down, h.data(), (size_t)Kpad * 64, cudaMemcpyHostToDevice)); CK(cudaMemcpy(up, h.data(), (size_t)N * 64, cudaMemcpyHostToDevice));
        }
        dim3 grid((N + BN - 1) / BN, (M + BM - 1) / BM);
        // the register path's low-rank inputs: down in fragment order, the split-K partial sums
        float *dhi, *part; int nch = (K + 31) / 32, cps, ks = lr_splits(M, nch, &cps);
        {
            std::vector<uint16_t> h((size_t)K * 32); CK(cudaMemcpy(h.data(), down, h.size() * 2, cudaMemcpyDeviceToHost));
            std::vector<float> df(h.size()), hi, lo; for (size_t i = 0; i < h.size(); i++) df[i] = bf16f(h[i]);
            lr_frag(df, K, 32, hi, lo);
            CK(cudaMalloc(&dhi, hi.size() * 4)); CK(cudaMemcpy(dhi, hi.data(), hi.size() * 4, cudaMemcpyHostToDevice));
            CK(cudaMalloc(&part, (size_t)ks * M * 32 * 4));
        }
        int it = 0;
        uint8_t* w8beside = nullptr;   // variant 13, unpack-first plan: the W4 weights unpacked beside the transform
        // variant: 0 convrot w4a4 (had256, per-token), 1 w8a8 (had256), 2 svdquant (g64, r32, smooth), 3 w4a4 g64 no lowrank
        auto lrdown = [&]() { launch_lrdown(xs[it % sets], M, K, sm, dhi, nullptr, 32, part, ks, cps, nch, xb16); };
        auto tqs = [&](int v, int spw) {
            const void* x = xs[it % sets];
            if (v == 9 || v == 10)   // INT8 bytes holding the 4-bit codes (same codes and scales as bits=4)
                launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16);
            if (v == 8) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -128, 127, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16);
#ifdef NIBBLE_WGMMA
            if (v == 11 || v == 13) {   // the tiled linears as FusedLinear runs them (codes tiled when the GEMM reads them so)
                bool tA; const char* tk = tiled_kernel(v == 11 ? 8 : 4, M, N, Kpad, &tA);
                // W4 unpack-first: the unpack beside the transform, as FusedLinear.forward (NIBBLE_W4_SERIAL=1: after it)
                w8beside = v == 13 && strchr(tk, '+') != nullptr && !getenv("NIBBLE_W4_SERIAL") ? unpack_w4_beside(wc4, N, Kpad) : nullptr;
                launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, v == 11 ? -128 : -8, v == 11 ? 127 : 7, ac, as,
                           nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16, tA ? 1 : 0);
            }
#endif
            if (v == 0 || v == 4) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 4, Kpad, 1, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16);
            if (v == 1 || v == 5) launch_tq2(x, M, K, Kpad, nullptr, nullptr, 1, 256, 1.0f / 16, 8, Kpad, 1, -128, 127, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16);
            if (v == 2 || v == 6) { lrdown(); launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, part, ks, 32, lr, DT_BF16, nullptr, spw, xb16); }
            if (v == 3 || v == 7) launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, nullptr, 0, 0, nullptr, 0, nullptr, spw, xb16);
            if (v == 12) {   // SVDQuant with k_lr_down on a second stream beside the transform, then k_lr_sum
                lrdown_beside(x, M, K, sm, dhi, nullptr, 32, part, ks, cps, nch, xb16);
                launch_tq2(x, M, K, Kpad, sm, nullptr, 0, 1, 1.0f, 4, 64, G, -8, 7, ac, as, nullptr, 0, 32, nullptr, DT_BF16, nullptr, spw, xb16);
                lrsum_after(part, ks, 32, lr, nullptr, M);
            }
        };
        auto tq = [&](int v) { tqs(v, 0); };
        const int S = (Kpad + 255) / 256, altSpw = tq2_spw(Kpad, 0) == 1 ? 2 : (S <= 32 ? 1 : 2);
        const int alt4 = S <= 64 && tq2_spw(Kpad, 0) != 4 ? 4 : 0;
        auto gemm = [&](int v) {
            if (v == 0) k_gemm_i4<<<grid, 256, GEMM_SMEM>>>(ac, wc4, M, N, Kpad, as, ws, 1, 1, nullptr, nullptr, 0, 1, bias, y, 0);
            if (v == 1) k_gemm_i8<<<grid, 256, GEMM_SMEM>>>(ac, wc8, M, N, Kpad, as, ws, 1, 1, nullptr, nullptr, 0, 1, bias, y, 0);
            if (v == 2) k_gemm_i4_g<<<grid, 256, GEMM_SMEM>>>(ac, wc4, M, N, Kpad, as, ws, G, -1, lr, up, 32, 1, bias, y, 0);
            if (v == 3) k_gemm_i4_g<<<grid, 256, GEMM_SMEM>>>(ac, wc4, M, N, Kpad, as, ws, G, -1, nullptr, nullptr, 0, 1, bias, y, 0);
#ifdef NIBBLE_WGMMA
            if (v == 6 || v == 7 || v == 12) {   // the grouped wgmma GEMM (nibble_wgmma_grouped.cuh), persistent
                dim3 wgrid(std::min(((N + 127) / 128) * ((M + 127) / 128), p.multiProcessorCount));
                const bool lrOn = v != 7;
                k_wgmma_i4_g<<<wgrid, 256, WGMMA_SMEM_I4_G>>>(ac, wc4, M, N, Kpad, as, ws, G, -1, lrOn ? lr : nullptr, lrOn ? up : nullptr, lrOn ? 32 : 0, 1, bias, y, xb16);   // BF16 in: BF16 out
                return;
            }
            if (v == 11 || v == 13) {   // the tiled linears: wc8 / wc4 hold random codes, read as tiled W
                bool tA;
                if (w8beside) {   // unpacked beside the transform; the GEMM after the join: a plain launch (as FusedLinear)
                    CK(cudaStreamWaitEvent(0, g_evUnp, 0));
                    g_lastHot = false;
                    launch_tiled(strchr(tiled_kernel(4, M, N, Kpad, &tA), '+') + 1, ac, w8beside, M, N, Kpad, as, ws, nullptr, nullptr, 0, bias, y, 1);
                    return;
                }
                launch_tiled(tiled_kernel(v == 11 ? 8 : 4, M, N, Kpad, &tA), ac, v == 11 ? wc8 : wc4, M, N, Kpad, as, ws, nullptr, nullptr, 0, bias, y, 1);
                return;
            }
            if (v >= 8) {   // BF16 output (v 8: W8A8, 9: W4A4 on k_wgmma_i4w); v 10: k_wgmma_i4w with F32 output
                long tiles = (long)((M + 127) / 128) * ((N + 255) / 256);
                bool few = 2 * tiles < p.multiProcessorCount;
                int tn = few ? 128 : 256;
                dim3 wgrid(std::min(((N + tn - 1) / tn) * ((M + 127) / 128), p.multiProcessorCount));
                auto fn = v == 8 ? (few ? k_wgmma_i8_n128 : k_wgmma_i8) : (few ? k_wgmma_i4w_n128 : k_wgmma_i4w);
                // each kernel with its own shared memory, as TensorCoreGemm.wgmmaSmem: a larger request moves the SM
                // to the 228 KB carve-out and halves L1
                const int smem = v == 8 ? (few ? WGMMA_SMEM_I8_N128 : WGMMA_SMEM_I8) : (few ? WGMMA_SMEM_I4W_N128 : WGMMA_SMEM_I4W);
                fn<<<wgrid, 256, smem>>>(ac, v == 8 ? wc8 : wc4, M, N, Kpad, as, ws, 1, 1, nullptr, nullptr, 0, 1, bias, y, v == 10 ? 0 : 1);
            }
            if (v == 4 || v == 5) {   // TensorCoreGemm.wgmmaTileN: 128 x 128 below half a wave of 128 x 256 tiles
                long tiles = (long)((M + 127) / 128) * ((N + 255) / 256);
                bool few = 2 * tiles < p.multiProcessorCount;
                if (v == 4 && Kpad < 2048 && !few) { k_gemm_i4<<<grid, 256, GEMM_SMEM>>>(ac, wc4, M, N, Kpad, as, ws, 1, 1, nullptr, nullptr, 0, 1, bias, y, 0); return; }
                int tn = few ? 128 : 256;
                int wtiles = ((N + tn - 1) / tn) * ((M + 127) / 128);
                dim3 wgrid(std::min(wtiles, p.multiProcessorCount));   // persistent
                auto fn = v == 4 ? (few ? k_wgmma_i4_n128 : k_wgmma_i4) : (few ? k_wgmma_i8_n128 : k_wgmma_i8);
                const int smem = v == 4 ? (few ? WGMMA_SMEM_I4_N128 : WGMMA_SMEM_I4) : (few ? WGMMA_SMEM_I8_N128 : WGMMA_SMEM_I8);
                fn<<<wgrid, 256, smem>>>(ac, v == 4 ? wc4 : wc8, M, N, Kpad, as, ws, 1, 1, nullptr, nullptr, 0, 1, bias, y, 0);
            }
#endif
        };
        const char* names[] = {"w4a4_convrot", "w8a8_convrot", "svdquant_r32_g64", "w4a4_g64", "w4a4_convrot_wgmma", "w8a8_convrot_wgmma",
                               "svdquant_r32_g64_wgmma", "w4a4_g64_wgmma", "w8a8_convrot_wgmma_bf16out", "w4a4_convrot_i4w_bf16out",
                               "w4a4_convrot_i4w", "w8a8_tiled_bf16out", "svdquant_r32_g64_wgmma_2streams", "w4a4_tiled_bf16out"};
#ifdef NIBBLE_WGMMA
        const int variants = 14;
#else
        const int variants = 4;
#endif
        for (int v = 0; v < variants; v++) {
            // NIBBLE_VARIANTS="1,5,8": just those variants (comma-separated indices into names[])
            if (const char* vs = getenv("NIBBLE_VARIANTS")) {
                bool on = false;
                for (const char* q = vs; *q; ) { char* e; long i = strtol(q, &e, 10); if (e == q) break; on |= i == v; q = *e ? e + 1 : e; }
                if (!on) continue;
            }
            float res[6] = {0, 0, 0, 0, 0, 0};
            // 0 full, 1 tq only, 2 gemm only, 3 tq with the other segments-per-warp choice, 4 k_lr_down only (svdquant)
            for (int part = 0; part < 6; part++) {
                if ((part == 4 && v != 2 && v != 6) || (part == 3 && altSpw == 0) || (part == 5 && alt4 == 0)) continue;
                if (v >= 11 && (part == 3 || part == 5)) continue;   // tiled codes, two streams: k_tq3 only
                auto step = [&]() {
                    if (part == 0 || part == 1) tq(v);
                    if (part == 0 || part == 2) gemm(v);
                    if (part == 3) tqs(v, altSpw);
                    if (part == 4) lrdown();
                    if (part == 5) tqs(v, alt4);
                    it++;
                };
                res[part] = median_us(e0, e1, 40, step);
            }
            double tops = 2.0 * M * N * K / (res[2] * 1e-6) / 1e12;
            double tqbytes = (double)M * K * (xb16 ? 2 : 4) + (double)M * Kpad * (v == 1 || v == 5 || v >= 8 ? 1 : 0.5);
            printf("RESULT linear %s%s M=%d K=%d N=%d total_us %.2f tq_us %.2f gemm_us %.2f gemm_TOPS %.1f tq_GBps %.1f tq_alt_us %.2f (spw %d) lrdown_us %.2f tq_spw4_us %.2f\n",
                   names[v], xb16 ? "_xbf16" : "", M, K, N, res[0], res[1], res[2], tops, tqbytes / (res[1] * 1e-6) / 1e9, res[3], altSpw, res[4], res[5]);
        }
        cudaFree(dhi); cudaFree(part);
        for (auto p2 : xs) cudaFree(p2);
        cudaFree(sm); cudaFree(bias); cudaFree(as); cudaFree(ws); cudaFree(y); cudaFree(ac); cudaFree(wc4); cudaFree(wc8);
        cudaFree(down); cudaFree(up); cudaFree(lr);
    }
    return fails ? 1 : 0;
}
