// Nibble GROUPED INT8 GEMM on Hopper's warpgroup tensor cores (sm_90a; included at the end of
// nibble_wgmma.cu, whose device helpers it calls). Per-(token, group) activation scales x
// per-(channel, group) weight scales, group = 64 codes (two wgmma k32 steps), the arguments and the
// arithmetic of k_gemm_i8_g / k_gemm_i4_g (gemm_body<MODE, true> in nibble_fused.cu), so the F32
// output is bit-identical:
//   - each group's int32 dot product (exact in any order) comes from wgmma m64n128k32 s8 accumulating
//     over the group only (the first k-step overwrites: scale-d = 0);
//   - then, groups in increasing order, facc += ((float)acc * sa[m, g]) * sw[n, g] (no FMA: the
//     kernels are built with --fmad=false); with cpg < 0 (every group sum below 2^22) the int->float
//     conversion is the exact 1.5*2^23 trick, equal to (float)acc there;
//   - y = facc * unpackScale, low-rank up projection on 16-bit mma.sync (hi halves, then lo), bias.
// Two accumulator sets ping-pong: the tensor cores sum group g+1 while the warps flush group g.
// Tile 128 x 128 (3 x 64 accumulator registers per thread); persistent blocks as the per-row kernel.
// Scales of a stage's two groups are staged in shared memory by cp.async with the codes.

namespace nwgg {

using nwg::kBM;
using nwg::kBK;
constexpr int kBN = 128;

__device__ __forceinline__ void cp4(uint32_t dst, const void* src, bool pred) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(dst), "l"(src), "r"(pred ? 4 : 0) : "memory");
}

// d = (accumulate ? d : 0) + A(64 x 32) * B(128 x 32)^T, one warpgroup
__device__ __forceinline__ void wgmma_n128(int* d, uint64_t da, uint64_t db, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
        : "l"(da), "l"(db), "r"(accumulate));
}

template <int MODE> struct Cfg {
    static constexpr int STAGE = (kBM + kBN) * kBK;                 // INT8 tile bytes per stage
    static constexpr int RAW = (kBM + kBN) * kBK / 2;               // packed INT4 bytes per stage
    static constexpr int kSTAGES = MODE == 0 ? 5 : 2;               // INT8 buffers
    static constexpr int RAWS = MODE == 0 ? 1 : 4;                  // packed INT4 stages
    static constexpr int AHEAD = MODE == 0 ? kSTAGES - 2 : RAWS - 1;   // stages loaded ahead
    static constexpr int LOADS = MODE == 0 ? kSTAGES : RAWS;        // ring the loads go to
    // scales: [sa group 0][sa group 1][sw group 0][sw group 1] x 128 floats per stage; one slot more
    // than the loads in flight, since the last group of stage kt-1 is flushed during stage kt
    static constexpr int SLOT = 4 * 128;
    static constexpr int SLOTS = AHEAD + 2;
    static constexpr int CODES = kSTAGES * STAGE + (MODE == 0 ? 0 : RAWS * RAW);
    // MODE 1: the tile's rows of up [kBN][r + 8] and of lr [kBM][2r + 8] (16-bit), staged by cp.async during the
    // main loop, so the epilogue's up projection does not wait on global memory (MODE 0 has no room left)
    static constexpr int LRS = CODES + SLOTS * SLOT * 4;
    static constexpr int UP_BYTES = MODE == 1 ? kBN * (nwg::MAX_RANK + 8) * 2 : 0;
    static constexpr int LR_BYTES = MODE == 1 ? kBM * (2 * nwg::MAX_RANK + 8) * 2 : 0;
    static constexpr int SMEM = LRS + UP_BYTES + LR_BYTES + 1024;   // + alignment slack
    // epilogue staging where the next tile's first loads do not go
    static constexpr int EPI = MODE == 0 ? AHEAD * STAGE : 0;
    static constexpr int EPI_BYTES = MODE == 0 ? (kSTAGES - AHEAD) * STAGE : kSTAGES * STAGE;
};
static_assert(Cfg<0>::EPI_BYTES >= nwg::epiFixed<128>() + nwg::SLAB_BYTES, "epilogue staging");
static_assert(Cfg<1>::EPI_BYTES >= nwg::epiFixed<128>() + nwg::SLAB_BYTES, "epilogue staging");
static_assert(Cfg<0>::SMEM <= 197632 && Cfg<1>::SMEM <= 197632, "TensorCoreGemm.WGMMA_SMEM");

// MODE 0: INT8 codes (group 64 = cpg 2); MODE 1: packed INT4 codes (group 64 = cpg 1) unpacked to INT8
// CONV: int->float of a group sum: 0 I2F; 1 the 1.5*2^23 trick (needs |sum| < 2^22: cpg < 0); 2 / 3 / 4 the
// trick with I2F for half / a quarter / three quarters of the elements (I2F is a separate, quarter-rate pipe)
// PAIRS: stages in pairs, 3 of 4 flushes overlapped with wgmma (measured ~3% slower than without)
template <int MODE, bool PAIRS, int CONV>
__device__ __forceinline__ void body(const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, int G, int cpg,
        const void* __restrict__ lr, const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias,
        void* __restrict__ Y, int yBf16) {
    using C = Cfg<MODE>;
    using nwg::swz;
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (nwg::saddr(dsm) + 1023u) & ~1023u;
    uint8_t* const g0 = dsm + (s0 - nwg::saddr(dsm));
    const int tid = threadIdx.x, wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31;
    const int gid = lane >> 2, tig = lane & 3;
    const int tilesN = (N + kBN - 1) / kBN, tiles = ((M + kBM - 1) / kBM) * tilesN;
    const int rowBytes = MODE == 0 ? Kpad : Kpad / 2;
    const int KT = Kpad / kBK;
    int tile = blockIdx.x;
    if (tile >= tiles) return;

    int accA[64], accB[64];
    float facc[64];

    // the two k32 steps of group `grp` (0, 1) of the INT8 stage at t into acc, one commit group
    auto issue = [&](int* acc, uint32_t t, int grp) {
        const uint64_t da = nwg::desc(t + wg * 64 * kBK) + 4 * grp, db = nwg::desc(t + kBM * kBK) + 4 * grp;
#ifndef NOFENCE_ISSUE
#pragma unroll
        for (int i = 0; i < 64; i++) nwg::reg_fence(acc[i]);
#endif
        nwg::wg_arrive();
        wgmma_n128(acc, da, db, 0);
        wgmma_n128(acc, da + 2, db + 2, 1);
        nwg::wg_commit();
    };
    const float* const sscale = reinterpret_cast<const float*>(g0 + C::CODES);
    // facc += ((float)acc * sa[row, g]) * sw[col, g], the flush of gemm_body; acc[j*4+t] is row
    // gid + 8*(t>>1) of the warp's 16, column j*8 + 2*tig + (t&1)
    auto flush = [&](int* acc, int slot, int grp) {
#pragma unroll
        for (int i = 0; i < 64; i++) nwg::reg_fence(acc[i]);
        const float* fs = sscale + slot * C::SLOT;
        const int ra = wg * 64 + wl * 16 + gid;
        const float fa0 = fs[grp * 128 + ra], fa1 = fs[grp * 128 + ra + 8];
        const float* fw = fs + 256 + grp * 128;
#pragma unroll
        for (int j = 0; j < 16; j++) {
            float2 w;   // loaded where it is used (volatile: the compiler would hoist all 16 and run out of registers)
            asm volatile("ld.shared.v2.f32 {%0, %1}, [%2];\n" : "=f"(w.x), "=f"(w.y) : "r"(nwg::saddr(fw + j * 8 + tig * 2)));
#pragma unroll
            for (int t = 0; t < 4; t++) {
                const int a = acc[j * 4 + t];
                const bool i2f = CONV == 0 || (CONV == 2 && (t & 1) == 0) || (CONV == 3 && t == 0) || (CONV == 4 && t != 3);
                const float f = i2f ? (float)a : __int_as_float(0x4B400000 + a) - 12582912.0f;
                facc[j * 4 + t] += f * ((t >> 1) ? fa1 : fa0) * ((t & 1) ? w.y : w.x);
            }
        }
    };

    constexpr int CPR = MODE == 0 ? 8 : 4;            // 16-byte chunks per row and stage
    constexpr int RSTEP = 256 / CPR;
    const int lrow = tid / CPR, lc = tid % CPR;
    const long long step = (long long)RSTEP * rowBytes;
    const uint8_t* pa;
    const uint8_t* pw;
    int m0, n0;
    auto setTile = [&](int t) {
        m0 = (t / tilesN) * kBM;
        n0 = (t % tilesN) * kBN;
        pa = A + (long long)(m0 + lrow) * rowBytes + lc * 16;
        pw = W + (long long)(n0 + lrow) * rowBytes + lc * 16;
    };
    const uint32_t raw0 = s0 + C::kSTAGES * C::STAGE;
    const uint32_t sc0 = s0 + C::CODES;
    auto load = [&](int stage, int kt) {
        uint32_t t;
        int kb;
        constexpr int RB = MODE == 0 ? kBK : kBK / 2;
        if constexpr (MODE == 0) {
            t = s0 + stage * C::STAGE + swz(lrow, lc);
            kb = kt * kBK;
        } else {
            t = raw0 + stage * C::RAW + lrow * RB + lc * 16;
            kb = kt * RB;
        }
#pragma unroll
        for (int i = 0; i < kBM / RSTEP; i++) {
            bool ok = m0 + lrow + RSTEP * i < M;
            nwg::cp16(t + i * RSTEP * RB, ok ? pa + i * step + kb : A, ok);
        }
#pragma unroll
        for (int i = 0; i < kBN / RSTEP; i++) {
            bool ok = n0 + lrow + RSTEP * i < N;
            nwg::cp16(t + (kBM + RSTEP * i) * RB, ok ? pw + i * step + kb : W, ok);
        }
        // the scales of the stage's groups 2kt, 2kt+1: thread -> (group tid >> 7, row / column tid & 127)
        const uint32_t sl = sc0 + (kt % C::SLOTS) * C::SLOT * 4;
        const int grp = tid >> 7, e = tid & 127, g = kt * 2 + grp;
        const bool okA = m0 + e < M, okW = n0 + e < N;
        cp4(sl + (grp * 128 + e) * 4, okA ? sa + (long long)(m0 + e) * G + g : sa, okA);
        cp4(sl + (256 + grp * 128 + e) * 4, okW ? sw + (long long)(n0 + e) * G + g : sw, okW);
    };
    auto unpack = [&](int rstage, int buf) {
        const uint8_t* rs = g0 + C::kSTAGES * C::STAGE + rstage * C::RAW;
        uint8_t* bs = g0 + buf * C::STAGE;
#pragma unroll
        for (int i = 0; i < (kBM + kBN) * 4 / 256; i++) {
            int e = tid + i * 256, row = e >> 2, c = e & 3;
            uint4 w = *reinterpret_cast<const uint4*>(rs + row * (kBK / 2) + c * 16);
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c)) =
                    make_uint4(nwg::lo16x(w.x), nwg::lo16x(w.y), nwg::lo16x(w.z), nwg::lo16x(w.w));
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c + 1)) =
                    make_uint4(nwg::hi16x(w.x), nwg::hi16x(w.y), nwg::hi16x(w.z), nwg::hi16x(w.w));
        }
    };
    // MODE 1: this tile's up rows and lr rows into their staging area (rows past N / M clamped as lowrank_up does)
    auto stageLowRank = [&]() {
        const uint32_t su = s0 + C::LRS, sl = su + C::UP_BYTES;
        const int upc = r / 8, lrc = r / 4;   // 16-byte chunks per row of up (r values) and of lr (2r values)
        for (int e = tid; e < kBN * upc; e += 256) {
            const int row = e / upc, c = e - row * upc;
            const long long col = min(n0 + row, N - 1);
            nwg::cp16(su + row * (r + 8) * 2 + c * 16, reinterpret_cast<const uint8_t*>(up) + col * r * 2 + c * 16, true);
        }
        for (int e = tid; e < kBM * lrc; e += 256) {
            const int row = e / lrc, c = e - row * lrc;
            const long long m = min(m0 + row, M - 1);
            nwg::cp16(sl + row * (2 * r + 8) * 2 + c * 16, reinterpret_cast<const uint8_t*>(lr) + m * 4 * r + c * 16, true);
        }
    };
    auto prologue = [&]() {
#pragma unroll
        for (int s = 0; s < C::AHEAD; s++) {
            if (s < KT) load(s, s);
            nwg::cp_commit();
        }
    };

    setTile(tile);
    prologue();
    while (true) {
#pragma unroll
        for (int i = 0; i < 64; i++) facc[i] = 0.0f;
        // stage kt ready in shared memory (INT8); returns its address
        auto prep = [&](int kt) -> uint32_t {
            nwg::cp_wait<C::AHEAD - 1>();
            if constexpr (MODE == 0) {
                nwg::fence_async_smem();
                __syncthreads();   // stage kt landed for all; only group 2kt-1's wgmma is in flight
                if (kt + C::AHEAD < KT) load((kt + C::AHEAD) % C::kSTAGES, kt + C::AHEAD);
                nwg::cp_commit();
                return s0 + (kt % C::kSTAGES) * C::STAGE;
            } else {
                __syncthreads();   // packed stage kt landed; INT8 buffer kt&1 was last read by stage kt-2
                if (kt + C::AHEAD < KT) load((kt + C::AHEAD) % C::RAWS, kt + C::AHEAD);
                if (kt == 0 && r > 0) stageLowRank();   // the previous epilogue has read the staged rows (barrier above)
                nwg::cp_commit();
                unpack(kt % C::RAWS, kt & 1);
                nwg::fence_async_smem();
                __syncthreads();
                return s0 + (kt & 1) * C::STAGE;
            }
        };
        // Stages in pairs: the warps flush one group while the tensor cores sum the next; only the last
        // group of a pair is flushed with nothing in flight (nothing may stay in flight across the
        // loop's back edge: ptxas would serialize every wgmma).
        int kt = 0;
        if constexpr (PAIRS) {
            for (; kt + 1 < KT; kt += 2) {
                uint32_t t = prep(kt);
                issue(accA, t, 0);                         // group 2kt
                issue(accB, t, 1);                         // group 2kt+1
                nwg::wg_wait<1>();
                flush(accA, kt % C::SLOTS, 0);
                t = prep(kt + 1);                          // group 2kt+1 still reads stage kt
                issue(accA, t, 0);                         // group 2kt+2
                nwg::wg_wait<1>();
                flush(accB, kt % C::SLOTS, 1);
                issue(accB, t, 1);                         // group 2kt+3
                nwg::wg_wait<1>();
                flush(accA, (kt + 1) % C::SLOTS, 0);
                nwg::wg_wait<0>();
                flush(accB, (kt + 1) % C::SLOTS, 1);
            }
        }
        for (; kt < KT; kt++) {
            const uint32_t t = prep(kt);
            issue(accA, t, 0);                         // group 2kt
            issue(accB, t, 1);                         // group 2kt+1
            nwg::wg_wait<1>();
            flush(accA, kt % C::SLOTS, 0);
            nwg::wg_wait<0>();
            flush(accB, kt % C::SLOTS, 1);
        }
        nwg::cp_wait<0>();
        __syncthreads();   // every stage and scale slot is free

        const int tm0 = m0, tn0 = n0;
        const int next = tile + gridDim.x;
        if (next < tiles) {   // the next tile's first stages load during this epilogue
            setTile(next);
            prologue();
        }

        float* ssw = reinterpret_cast<float*>(g0 + C::EPI);   // unused slot of the per-row layout
        float* sbias = ssw + kBN;
        uint16_t* sup = reinterpret_cast<uint16_t*>(sbias + kBN);
        const int upStride = r + 8;
        for (int i = tid; i < kBN; i += 256) {
            int c = tn0 + i;
            sbias[i] = bias != nullptr && c < N ? bias[c] : 0.0f;
        }
        if (r > 0 && MODE == 0) {
            const uint32_t* U = reinterpret_cast<const uint32_t*>(up);
            const int half = r / 2;
            for (int e = tid; e < kBN * half; e += 256) {
                int row = e / half, w = e - row * half;
                int col = min(tn0 + row, N - 1);
                reinterpret_cast<uint32_t*>(sup + row * upStride)[w] = U[(long long)col * half + w];
            }
        }
        __syncthreads();

        const float unpackScale = MODE == 1 ? (1.0f / 256.0f) : 1.0f;
        const int rowA = tm0 + wg * 64 + wl * 16 + gid;
        float* y = facc;
#pragma unroll
        for (int i = 0; i < 64; i++) y[i] = facc[i] * unpackScale;
        if (r > 0 && MODE == 1) {
            const uint16_t* slr = reinterpret_cast<const uint16_t*>(g0 + C::LRS + C::UP_BYTES);
            const int ls = 2 * r + 8, rt = wg * 64 + wl * 16 + gid;   // the warp's rows within the tile
            auto at = [&](int row, int k) { return *reinterpret_cast<const uint32_t*>(slr + row * ls + k); };
            const uint16_t* sup1 = reinterpret_cast<const uint16_t*>(g0 + C::LRS);
            auto upAt = [&](int n, int k) { return sup1 + n * (r + 8) + k; };
            nwg::lowrank_up_rows<kBN>(y, at, rt, rt + 8, upAt, r, lrBf16);
        } else if (r > 0) {
            nwg::lowrank_up<kBN>(y, lr, sup, upStride, r, lrBf16, rowA, M);
        }
        // bias, then whole-line stores through a per-warp shared-memory slab, as the per-row kernel
        float* slab = reinterpret_cast<float*>(g0 + C::EPI + nwg::epiFixed<kBN>()) + (tid >> 5) * (16 * nwg::SLAB_STRIDE);
        nwg::slab_store<kBN>(y, sbias, bias != nullptr, slab, tm0 + wg * 64 + wl * 16, tn0, M, N, Y, yBf16);
        if (next >= tiles) break;
        tile = next;
        // the next main loop's first barrier orders these shared-memory reads before its loads
    }
}

}  // namespace nwgg

#define WGMMA_SMEM_I8_G (nwgg::Cfg<0>::SMEM)
#define WGMMA_SMEM_I4_G (nwgg::Cfg<1>::SMEM)

// The arguments of k_gemm_i8_g / k_gemm_i4_g; group 64 only (cpg = +-2 for INT8, +-1 for INT4).
// The conversion is chosen once per launch (a per-element select would run both). Without stage pairs,
// I2F for half the elements: the fastest of the variants measured on an NVIDIA H200 (cudagroup.md).
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i8_g(WG_ARGS) {
    if (cpg < 0) nwgg::body<0, false, 2>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16);
    else nwgg::body<0, false, 0>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16);
}
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i4_g(WG_ARGS) {
    if (cpg < 0) nwgg::body<1, false, 2>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16);
    else nwgg::body<1, false, 0>(A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16);
}
