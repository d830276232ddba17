// EXPERIMENTAL, test-side only: the ping-pong variant of the sm_90a wgmma GEMM (k_wgmma_pp_i8/_i4).
// Bit-exact against k_gemm_i8/_i4 (wgmma_check pp), but measured 5.3x (INT8) / 2.6x (INT4) SLOWER than
// k_wgmma_i8/_i4 on an NVIDIA H200 at M=4096, K=N=3072 (docs/benchmarks/cudaepi.md). Likely cause (from
// the timings, not profiled): one or two producer warps cannot issue cp.async fast enough to feed the
// tensor cores (~6.3 / ~4.9 bytes per cycle per SM for INT8 / INT4 against ~58 needed). Kept here, not in the jar's cubin, so that a TMA producer can replace the cp.async one and
// be measured with the same checks. Include after nibble_wgmma.cu (it uses the nwg helpers).
#pragma once
// Ping-pong variant (k_wgmma_pp_*): the F32 epilogue of one tile overlaps the next tile's main loop.
// A producer (1 or 2 warps) fills a ring of 128 x 128 tile stages with cp.async and signals each
// stage on an mbarrier; two consumer warpgroups each own whole 128 x 128 tiles (two m64n128k32
// wgmma per 32 of K, 128 accumulator registers), taking a block's tiles alternately: while one
// stores its tile, the other keeps the tensor cores busy. No block-wide barrier in the main loop.
// INT4: the producer unpacks the packed stage (the chunks it copied itself) to INT8 in the ring.
// Same int32 sums and the same epilogue arithmetic as k_wgmma_* / k_gemm_*: bit-identical outputs.
namespace nwp {
using nwg::kBK;
using nwg::saddr;
using nwg::cp16;
using nwg::cp_commit;
using nwg::cp_wait;
using nwg::fence_async_smem;
using nwg::wg_arrive;
using nwg::wg_commit;
using nwg::wg_wait;
using nwg::reg_fence;
using nwg::desc;
using nwg::swz;
using nwg::lo16x;
using nwg::hi16x;
using nwg::mma16;
using nwg::wgmma_n128;
using nwg::SLAB_STRIDE;
using nwg::SLAB_BYTES;

constexpr int TM = 128, TN = 128;                 // one consumer warpgroup's tile
constexpr int STAGE = (TM + TN) * kBK;            // INT8 bytes per stage
constexpr int RAWST = STAGE / 2;                  // packed INT4 bytes per stage

template <int MODE> struct PP {
    static constexpr int S = MODE == 0 ? 5 : 4;   // INT8 ring stages
    static constexpr int R = MODE == 0 ? 0 : 3;   // packed INT4 stages (producer only)
    static constexpr int P = MODE == 0 ? 4 : 2;   // producer warps (INT8: a whole warpgroup, registers moved to the consumers)
    static constexpr int THREADS = 256 + 32 * P;
    static constexpr int SLAB_OFF = S * STAGE + R * RAWST;
    static constexpr int EPI_OFF = SLAB_OFF + SLAB_BYTES;     // per consumer: sw, bias [TN] floats each
    static constexpr int BAR_OFF = EPI_OFF + 2 * 2 * TN * 4;
    static constexpr int SMEM = BAR_OFF + 2 * S * 8 + 1024;
};
// TensorCoreGemm.WGMMA_PP_SMEM (the dynamic shared memory the ping-pong launches ask for) covers both
static_assert(PP<0>::SMEM <= 220224 && PP<1>::SMEM <= 220224, "TensorCoreGemm.WGMMA_PP_SMEM");

__device__ __forceinline__ void mbar_init(uint32_t b, int n) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(b), "r"(n) : "memory"); }
__device__ __forceinline__ void mbar_arrive(uint32_t b) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" :: "r"(b) : "memory"); }
// arrives once this thread's earlier cp.async copies have landed (counted in the barrier's init)
__device__ __forceinline__ void mbar_arrive_cp(uint32_t b) { asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" :: "r"(b) : "memory"); }
__device__ __forceinline__ void mbar_wait(uint32_t b, uint32_t parity) {
    asm volatile("{\n.reg .pred P1;\nWAIT_%=:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
                 "@P1 bra DONE_%=;\nbra WAIT_%=;\nDONE_%=:\n}\n" :: "r"(b), "r"(parity) : "memory");
}
__device__ __forceinline__ void wg_bar(int id) { asm volatile("bar.sync %0, 128;\n" :: "r"(id) : "memory"); }
// the two consumer warpgroups' main loops take turns (named barriers 3 and 4, 256 threads)
__device__ __forceinline__ void turn_wait(int id) { asm volatile("bar.sync %0, 256;\n" :: "r"(id) : "memory"); }
__device__ __forceinline__ void turn_pass(int id) { asm volatile("bar.arrive %0, 256;\n" :: "r"(id) : "memory"); }

template <int MODE>
__device__ __forceinline__ void pp_body(const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, const void* __restrict__ lr,
        const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, float* __restrict__ Y) {
    using C = PP<MODE>;
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (saddr(dsm) + 1023u) & ~1023u;
    uint8_t* const g0 = dsm + (s0 - saddr(dsm));
    const int tid = threadIdx.x;
    const int tilesN = (N + TN - 1) / TN, tiles = ((M + TM - 1) / TM) * tilesN;
    if ((int)blockIdx.x >= tiles) return;
    const int rowBytes = MODE == 0 ? Kpad : Kpad / 2;
    const int KT = Kpad / kBK;
    const int nItems = (tiles - blockIdx.x + gridDim.x - 1) / gridDim.x;
    const int total = nItems * KT;                 // ring stages this block consumes
    const uint32_t fullB = s0 + C::BAR_OFF, emptyB = fullB + C::S * 8;
    if (tid == 0) {
        for (int s = 0; s < C::S; s++) {
            mbar_init(fullB + 8 * s, 32 * C::P);
            mbar_init(emptyB + 8 * s, 128);
        }
    }
    __syncthreads();

    if (tid >= 256) {   // producer
        if constexpr (C::P == 4) asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
        constexpr int NP = 32 * C::P;
        const int p = tid - 256;
        if constexpr (MODE == 0) {
            // lane p copies chunk p % 8 of rows p / 8 + (NP / 8) i of the 256 stage rows (A then W)
            constexpr int RS = NP / 8;
            const int c = p & 7, row0 = p >> 3;
            for (int it = 0; it < total; it++) {
                const int s = it % C::S, item = it / KT, kt = it - item * KT;
                const int t = blockIdx.x + item * gridDim.x;
                const int m0 = (t / tilesN) * TM, n0 = (t % tilesN) * TN;
                mbar_wait(emptyB + 8 * s, ((it / C::S) & 1) ^ 1);
                const uint32_t base = s0 + s * STAGE;
                const long long kb = (long long)kt * kBK + c * 16;
#pragma unroll
                for (int i = 0; i < TM / RS; i++) {
                    const int row = row0 + RS * i;
                    const bool ok = m0 + row < M;
                    cp16(base + swz(row, c), ok ? A + (long long)(m0 + row) * rowBytes + kb : A, ok);
                }
#pragma unroll
                for (int i = 0; i < TN / RS; i++) {
                    const int row = row0 + RS * i;
                    const bool ok = n0 + row < N;
                    cp16(base + swz(TM + row, c), ok ? W + (long long)(n0 + row) * rowBytes + kb : W, ok);
                }
                mbar_arrive_cp(fullB + 8 * s);
            }
        } else {
            // lane p copies packed chunk p % 4 of rows p / 4 + (NP / 4) i and unpacks exactly those
            constexpr int RS = NP / 4, AHEAD = C::R - 1;
            const int c = p & 3, row0 = p >> 2;
            const uint32_t raw0 = s0 + C::S * STAGE;
            auto rawload = [&](int it) {
                const int item = it / KT, kt = it - item * KT;
                const int t = blockIdx.x + item * gridDim.x;
                const int m0 = (t / tilesN) * TM, n0 = (t % tilesN) * TN;
                const uint32_t base = raw0 + (it % C::R) * RAWST + row0 * (kBK / 2) + c * 16;
                const long long kb = (long long)kt * (kBK / 2) + c * 16;
#pragma unroll
                for (int i = 0; i < TM / RS; i++) {
                    const int row = row0 + RS * i;
                    const bool ok = m0 + row < M;
                    cp16(base + RS * i * (kBK / 2), ok ? A + (long long)(m0 + row) * rowBytes + kb : A, ok);
                }
#pragma unroll
                for (int i = 0; i < TN / RS; i++) {
                    const int row = row0 + RS * i;
                    const bool ok = n0 + row < N;
                    cp16(base + (TM + RS * i) * (kBK / 2), ok ? W + (long long)(n0 + row) * rowBytes + kb : W, ok);
                }
            };
#pragma unroll
            for (int a = 0; a < AHEAD; a++) {
                if (a < total) rawload(a);
                cp_commit();
            }
            for (int it = 0; it < total; it++) {
                if (it + AHEAD < total) rawload(it + AHEAD);
                cp_commit();
                cp_wait<AHEAD>();   // this lane's chunks of packed stage it have landed
                const int s = it % C::S;
                mbar_wait(emptyB + 8 * s, ((it / C::S) & 1) ^ 1);
                const uint8_t* rs = g0 + C::S * STAGE + (it % C::R) * RAWST + row0 * (kBK / 2) + c * 16;
                uint8_t* bs = g0 + s * STAGE;
#pragma unroll
                for (int i = 0; i < (TM + TN) / RS; i++) {
                    const int row = row0 + RS * i;
                    const uint4 w = *reinterpret_cast<const uint4*>(rs + RS * i * (kBK / 2));
                    *reinterpret_cast<uint4*>(bs + swz(row, 2 * c)) = make_uint4(lo16x(w.x), lo16x(w.y), lo16x(w.z), lo16x(w.w));
                    *reinterpret_cast<uint4*>(bs + swz(row, 2 * c + 1)) = make_uint4(hi16x(w.x), hi16x(w.y), hi16x(w.z), hi16x(w.w));
                }
                fence_async_smem();
                mbar_arrive(fullB + 8 * s);
            }
        }
        // stay until the consumers have taken the last stages: an exited thread's pending cp.async
        // arrivals must not be relied on
        for (int it = total > C::S ? total - C::S : 0; it < total; it++) mbar_wait(emptyB + 8 * (it % C::S), (it / C::S) & 1);
        return;
    }

    // consumers: warpgroup wg takes the block's tiles wg, wg + 2, ...
    if constexpr (C::P == 4) asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
    const int wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31, gid = lane >> 2, tig = lane & 3;
    const int ctid = tid & 127;
    float* const ssw = reinterpret_cast<float*>(g0 + C::EPI_OFF) + wg * 2 * TN;
    float* const sbias = ssw + TN;
    float* const slab = reinterpret_cast<float*>(g0 + C::SLAB_OFF) + (tid >> 5) * (16 * SLAB_STRIDE);
    const float unpackScale = MODE == 1 ? (1.0f / 256.0f) : 1.0f;
    int acc[128];   // rows 0..63 in acc[0..63], rows 64..127 in acc[64..127]
    for (int item = wg; item < nItems; item += 2) {
        const int t = blockIdx.x + item * gridDim.x;
        const int m0 = (t / tilesN) * TM, n0 = (t % tilesN) * TN;
#pragma unroll
        for (int i = 0; i < 128; i++) acc[i] = 0;
        const int it0 = item * KT;
        // Main loops run in tile order, one warpgroup at a time: a warpgroup waits on the ring's
        // barriers only once every earlier stage has been taken, so a phase parity it waits on can
        // never be two phases behind (the other warpgroup meanwhile runs its epilogue).
        if (item > 0) turn_wait(3 + (1 - wg));
        for (int kt = 0; kt < KT; kt++) {
            const int it = it0 + kt, s = it % C::S;
            mbar_wait(fullB + 8 * s, (it / C::S) & 1);
            if constexpr (MODE == 0) fence_async_smem();   // cp.async writes, read by wgmma (async proxy)
            const uint32_t base = s0 + s * STAGE;
            const uint64_t da0 = desc(base), da1 = desc(base + 64 * kBK), db = desc(base + TM * kBK);
#pragma unroll
            for (int i = 0; i < 128; i++) reg_fence(acc[i]);
            wg_arrive();
#pragma unroll
            for (int kk = 0; kk < kBK / 32; kk++) {
                wgmma_n128(acc, da0 + 2 * kk, db + 2 * kk);
                wgmma_n128(acc + 64, da1 + 2 * kk, db + 2 * kk);
            }
            wg_commit();
            wg_wait<1>();
#pragma unroll
            for (int i = 0; i < 128; i++) reg_fence(acc[i]);
            if (kt > 0) mbar_arrive(emptyB + 8 * ((it - 1) % C::S));   // stage it-1 retired
        }
        if (item + 1 < nItems) turn_pass(3 + wg);   // the other warpgroup's main loop may start
        wg_wait<0>();
#pragma unroll
        for (int i = 0; i < 128; i++) reg_fence(acc[i]);
        mbar_arrive(emptyB + 8 * ((it0 + KT - 1) % C::S));

        wg_bar(1 + wg);   // this warpgroup's reads of the previous tile's columns are done
        for (int i = ctid; i < TN; i += 128) {
            const int c = n0 + i;
            ssw[i] = c < N ? sw[c] : 0.0f;
            sbias[i] = bias != nullptr && c < N ? bias[c] : 0.0f;
        }
        wg_bar(1 + wg);
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int* const ac = acc + 64 * h;
            float* const y = reinterpret_cast<float*>(ac);
            const int rowA = m0 + h * 64 + wl * 16 + gid;
            const float sA0 = rowA < M ? sa[rowA] : 0.0f, sA1 = rowA + 8 < M ? sa[rowA + 8] : 0.0f;
#pragma unroll
            for (int j = 0; j < TN / 8; j++) {
                const float2 w = *reinterpret_cast<const float2*>(ssw + j * 8 + tig * 2);
#pragma unroll
                for (int q = 0; q < 4; q++)
                    y[j * 4 + q] = (float)ac[j * 4 + q] * unpackScale * ((q >> 1) ? sA1 : sA0) * ((q & 1) ? w.y : w.x);
            }
            if (r > 0) {   // y += lr[m, :] . up[n, :], hi halves then lo halves, as gemm_body; both from global memory
                const uint16_t* L = reinterpret_cast<const uint16_t*>(lr);
                const uint16_t* U = reinterpret_cast<const uint16_t*>(up);
                auto lrAt = [&](int row, int k) { return *reinterpret_cast<const uint32_t*>(L + (long long)row * 2 * r + k); };
                auto upAt = [&](int n, int k) { return U + (long long)min(n0 + n, N - 1) * r + k; };
                nwg::lowrank_up_rows<TN>(y, lrAt, min(rowA, M - 1), min(rowA + 8, M - 1), upAt, r, lrBf16);
            }
            // bias, then whole-line stores through the warp's slab (F32 output), as the shipped kernels
            nwg::slab_store<TN>(y, sbias, bias != nullptr, slab, m0 + h * 64 + wl * 16, n0, M, N, Y, 0);
        }
    }
}

}  // namespace nwp

#define WGMMA_PP_THREADS_I8 (nwp::PP<0>::THREADS)
#define WGMMA_PP_THREADS_I4 (nwp::PP<1>::THREADS)
#define WGMMA_PP_SMEM_I8 (nwp::PP<0>::SMEM)
#define WGMMA_PP_SMEM_I4 (nwp::PP<1>::SMEM)

// F32 output only (yBf16 is ignored: the experiment predates the BF16 output)
#define PP_PASS A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, reinterpret_cast<float*>(Y)
extern "C" __global__ void __launch_bounds__(nwp::PP<0>::THREADS, 1) k_wgmma_pp_i8(WG_ARGS) { nwp::pp_body<0>(PP_PASS); }
extern "C" __global__ void __launch_bounds__(nwp::PP<1>::THREADS, 1) k_wgmma_pp_i4(WG_ARGS) { nwp::pp_body<1>(PP_PASS); }
