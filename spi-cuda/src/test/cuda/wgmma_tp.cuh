// EXPERIMENTAL, test-side only: ping-pong on the bulk-copy producer and tiled operands of k_wgmma_i8_t
// (k_wgmma_i8_tp), and the wgmma throughput micro-benchmark behind the conclusion (wgmma_check peaks).
// Each consumer warpgroup owns whole 128 x 128 tiles and the two take a block's tiles in turn (named barriers 4
// and 5 order their main loops), so that one warpgroup's epilogue runs while the other's main loop keeps the
// tensor cores busy. Bit-exact against k_gemm_i8 (wgmma_check t4), but 87.9 us against k_wgmma_i8_t's 57.8 at
// M = 4096, K = N = 3072 on an NVIDIA H200 (docs/benchmarks.md, session 5), as slow as the cooperative 128 x 128
// k_wgmma_i8_t_n128 (89.9). One warpgroup issuing m64n128k32 pairs does reach the wgmma peak (wgmma_check peaks),
// so the tile shape is the limit: per multiply-add a 128 x 128 tile moves 4/3 of the shared-memory bytes of a
// 128 x 256 one (stage writes plus wgmma operand reads: ~145 against ~116 bytes per cycle per SM at the peak, with
// ~128 available). Include after nibble_wgmma.cu (it uses the nwt helpers).
#pragma once
namespace nwt {
template <int S> struct PP {
    static constexpr int STAGE = (kBM + 128) * 64;
    static constexpr int EPI = S * STAGE;                   // per warpgroup: sw[128], bias[128]
    static constexpr int OUT = EPI + 2 * 2 * 128 * 4;       // per warpgroup: the BF16 tile (rows of stageStride<128>)
    static constexpr int OUT_BYTES = 2 * kBM * stageStride<128>();
    static constexpr int BAR = OUT + OUT_BYTES;             // full[S], empty[S]
    static constexpr int SMEM = BAR + 2 * S * 8 + 1024;
    static_assert(SMEM <= 232448 && OUT_BYTES >= SLAB_BYTES, "shared memory");
};
__device__ __forceinline__ void nbar_sync(int id) { asm volatile("bar.sync %0, 256;\n" :: "r"(id) : "memory"); }
__device__ __forceinline__ void nbar_arrive(int id) { asm volatile("bar.arrive %0, 256;\n" :: "r"(id) : "memory"); }

// The main loops alternate strictly: a warpgroup starts waiting on its tile's stages only after the other one has
// waited on every stage of the previous tile, which keeps each stage's mbarrier at most one phase behind the parity a
// consumer waits for. Same int32 sums and epilogue arithmetic as k_wgmma_i8_t: bit-identical output.
template <int S>
__device__ __forceinline__ void pp_body(const uint8_t* __restrict__ At, const uint8_t* __restrict__ Wt, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, const void* __restrict__ lr,
        const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, void* __restrict__ Y, int yBf16) {
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (saddr(dsm) + 1023u) & ~1023u;
    uint8_t* const g0 = dsm + (s0 - saddr(dsm));
    const int tid = threadIdx.x;
    constexpr int TBN = 128, BKT = 64;
    const int tilesN = (N + TBN - 1) / TBN, tiles = ((M + kBM - 1) / kBM) * tilesN;
    if ((int)blockIdx.x >= tiles) return;
    const int KT = Kpad / BKT;
    const int nItems = (tiles - blockIdx.x + gridDim.x - 1) / gridDim.x;
    const int total = nItems * KT;
    using C = PP<S>;
    const uint32_t fullB = s0 + C::BAR, emptyB = fullB + S * 8;
    if (tid == 0) {
        for (int s = 0; s < S; s++) {
            mbar_init(fullB + 8 * s, 1);
            mbar_init(emptyB + 8 * s, 128);   // one warpgroup consumes a stage
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (tid >= 256) {   // producer warpgroup: one thread issues the bulk copies, tile after tile
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
        if (tid == 256) {
            for (int it = 0; it < total; it++) {
                const int s = it % S, item = it / KT, kt = it - item * KT;
                const int t = blockIdx.x + item * gridDim.x;
                const int mb = t / tilesN, nb = t % tilesN;
                mbar_wait(emptyB + 8 * s, ((it / S) & 1) ^ 1);
                const uint32_t base = s0 + s * C::STAGE;
                const int wb = nb >> 1, rows = wblock_rows(N, wb), half = nb & 1;
                const int wr = min(TBN, rows - half * TBN);
                expect_tx(fullB + 8 * s, kBM * BKT + wr * BKT);
                bulk_g2s(base, At + ((long long)mb * KT + kt) * (kBM * BKT), kBM * BKT, fullB + 8 * s);
                bulk_g2s(base + kBM * BKT, Wt + (long long)wb * KT * (256 * BKT) + ((long long)kt * rows + half * TBN) * BKT,
                         wr * BKT, fullB + 8 * s);
            }
            for (int it = total > S ? total - S : 0; it < total; it++) mbar_wait(emptyB + 8 * (it % S), (it / S) & 1);
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");

    const int wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31, gid = lane >> 2, tig = lane & 3;
    float* const ssw = reinterpret_cast<float*>(g0 + C::EPI) + wg * 2 * TBN;
    float* const sbias = ssw + TBN;
    constexpr int SSB = stageStride<TBN>();
    uint8_t* const st = g0 + C::OUT + wg * kBM * SSB;
    float* const slab = reinterpret_cast<float*>(g0 + C::OUT) + (tid >> 5) * (16 * SLAB_STRIDE);
    const bool bulkOut = yBf16 && (N & 7) == 0;
    int acc[TBN];   // rows 0..63 of the tile in acc[0..63], rows 64..127 in acc[64..127]
    for (int item = wg; item < nItems; item += 2) {
        const int t = blockIdx.x + item * gridDim.x;
        const int tm0 = (t / tilesN) * kBM, tn0 = (t % tilesN) * TBN;
        wgbar(wg);   // this warpgroup's previous epilogue has read its operands
        for (int i = tid & 127; i < TBN; i += 128) {
            const int c = tn0 + i;
            cp4(saddr(ssw + i), c < N ? sw + c : sw, c < N);
            cp4(saddr(sbias + i), bias != nullptr && c < N ? bias + c : sw, bias != nullptr && c < N);
        }
        nwg::cp_commit();
        float sA[2][2];
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int row = tm0 + h * 64 + wl * 16 + gid;
            sA[h][0] = row < M ? sa[row] : 0.0f;
            sA[h][1] = row + 8 < M ? sa[row + 8] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < TBN; i++) acc[i] = 0;
        if (item > 0) nbar_sync(wg == 0 ? 5 : 4);   // the other warpgroup has issued the previous tile's main loop
        const int it0 = item * KT;
        for (int kt = 0; kt < KT; kt++) {
            const int it = it0 + kt, s = it % S;
            mbar_wait(fullB + 8 * s, (it / S) & 1);
            const uint32_t base = s0 + s * C::STAGE;
            const uint64_t da = descB<BKT>(base), da1 = descB<BKT>(base + 64 * BKT), db = descB<BKT>(base + kBM * BKT);
#pragma unroll
            for (int i = 0; i < TBN; i++) reg_fence(acc[i]);
            wg_arrive();
#pragma unroll
            for (int kk = 0; kk < BKT / 32; kk++) {
                wgmma<TBN>(acc, da + 2 * kk, db + 2 * kk);
                wgmma<TBN>(acc + TBN / 2, da1 + 2 * kk, db + 2 * kk);
            }
            wg_commit();
            wg_wait<1>();
#pragma unroll
            for (int i = 0; i < TBN; i++) reg_fence(acc[i]);
            if (kt > 0) mbar_arrive(emptyB + 8 * ((it - 1) % S));
        }
        if (item + 1 < nItems) nbar_arrive(wg == 0 ? 4 : 5);   // the other warpgroup may start its main loop
        wg_wait<0>();
#pragma unroll
        for (int i = 0; i < TBN; i++) reg_fence(acc[i]);
        mbar_arrive(emptyB + 8 * ((it0 + KT - 1) % S));

        nwg::cp_wait<0>();
        wgbar(wg);
        float* y = reinterpret_cast<float*>(acc);
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
            for (int j = 0; j < TBN / 8; j++) {
                const float2 w = *reinterpret_cast<const float2*>(ssw + j * 8 + tig * 2);
#pragma unroll
                for (int q = 0; q < 4; q++)
                    y[h * 64 + j * 4 + q] = (float)acc[h * 64 + j * 4 + q] * sA[h][q >> 1] * ((q & 1) ? w.y : w.x);
            }
        if (r > 0) {   // y += lr[m, :] . up[n, :] (up rows from global), per 64-row half
            const uint16_t* L = reinterpret_cast<const uint16_t*>(lr);
            const uint16_t* U = reinterpret_cast<const uint16_t*>(up);
            auto at = [&](int row, int k) { return *reinterpret_cast<const uint32_t*>(L + (long long)row * 2 * r + k); };
            auto upAt = [&](int n, int k) { return U + (long long)min(tn0 + n, N - 1) * r + k; };
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int rowA = tm0 + h * 64 + wl * 16 + gid;
                lowrank_up_rows<TBN>(y + h * 64, at, min(rowA, M - 1), min(rowA + 8, M - 1), upAt, r, lrBf16);
            }
        }
        if (bulkOut) {   // the warp's 32 rows as BF16 into the warpgroup's staged tile, then one bulk copy per row
            bulk_wait_read();   // this warp's copies of the warpgroup's previous tile have left the staging rows
            __syncwarp();
#pragma unroll
            for (int h = 0; h < 2; h++) {
                uint8_t* r0 = st + (h * 64 + wl * 16 + gid) * SSB + tig * 4;
#pragma unroll
                for (int j = 0; j < TBN / 8; j++) {
                    float v0 = y[h * 64 + j * 4], v1 = y[h * 64 + j * 4 + 1], v2 = y[h * 64 + j * 4 + 2], v3 = y[h * 64 + j * 4 + 3];
                    if (bias) {
                        const float2 b = *reinterpret_cast<const float2*>(sbias + j * 8 + tig * 2);
                        v0 += b.x; v1 += b.y; v2 += b.x; v3 += b.y;
                    }
                    *reinterpret_cast<uint32_t*>(r0 + j * 16) = bf2(v0, v1);
                    *reinterpret_cast<uint32_t*>(r0 + 8 * SSB + j * 16) = bf2(v2, v3);
                }
            }
            fence_async_smem();
            __syncwarp();
            const int rowT = (lane >> 4) * 64 + wl * 16 + (lane & 15), row = tm0 + rowT;
            if (row < M)
                bulk_s2g(reinterpret_cast<__nv_bfloat16*>(Y) + (long long)row * N + tn0, saddr(st + rowT * SSB),
                         min(TBN, N - tn0) * 2);
            bulk_commit();
            continue;
        }
        // F32 (or N % 8 != 0): bias, then whole lines through the warp's slab, per 64-row half
#pragma unroll
        for (int h = 0; h < 2; h++) slab_store<TBN>(y + h * 64, sbias, bias != nullptr, slab, tm0 + h * 64 + wl * 16, tn0, M, N, Y, yBf16);
    }
    if (bulkOut) bulk_wait();
}
}  // namespace nwt

#define WGMMA_TP_SMEM (nwt::PP<9>::SMEM)
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_tp(WG_ARGS) {
    nwt::pp_body<9>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}

// wgmma s8 throughput per SM: NWG warpgroups each issuing MH m64nNk32 per 32 of K (MH = 2: a 128-row tile), groups of
// 4 k-steps, WAIT groups left in flight; operands in shared memory, no loads
template <int NWG, int N, int MH, int WAIT>
__global__ void __launch_bounds__(256, 1) k_wgmma_peak_shape(int* out, int iters) {
    if ((int)threadIdx.x >= NWG * 128) return;
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (nwg::saddr(dsm) + 1023u) & ~1023u;
    const int wg = threadIdx.x >> 7;
    int acc[MH * N / 2];
    for (int i = 0; i < MH * N / 2; i++) acc[i] = 0;
    const uint64_t db = nwg::desc(s0 + 32768);
    for (int i = 0; i < iters; i++) {
        nwg::wg_arrive();
#pragma unroll
        for (int kk = 0; kk < 4; kk++)
#pragma unroll
            for (int h = 0; h < MH; h++) nwg::wgmma<N>(acc + h * N / 2, nwg::desc(s0 + (wg * MH + h) * 8192) + 2 * kk, db + 2 * kk);
        nwg::wg_commit();
        nwg::wg_wait<WAIT>();
    }
    nwg::wg_wait<0>();
    int s = 0;
    for (int i = 0; i < MH * N / 2; i++) s += acc[i];
    if (s == 0x7fffffff) out[0] = s;
}
