// Nibble INT8 GEMM on Hopper's warpgroup tensor cores (sm_90a only; compiled into its own cubin).
// wgmma.mma_async m64nNk32 s8 x s8 -> s32 with both operands in shared memory (128-byte swizzle,
// matrix descriptors), fed by a multi-stage cp.async pipeline. INT4 codes stay packed in global memory
// and are unpacked to INT8 (16 x code) in shared memory, the same trick as the mma.sync path.
// Same arguments and same epilogue arithmetic as k_gemm_i8 / k_gemm_i4 (nibble_fused.cu), so the
// output is bit-identical: int32 accumulation, then (float)acc * unpackScale * sa[m] * sw[n], the
// low-rank up projection on 16-bit mma.sync, bias, one store: F32, or with yBf16 = 1 the BF16
// round-to-nearest-even of that float (BF16 tiles with N % 8 == 0 are staged in shared memory and leave as whole rows).
// Kernels: k_wgmma_i8 / _i4 (+ _n128: 128 x 128 tiles), k_wgmma_i4w (INT8 activation codes, packed INT4
// weights), k_wgmma_i8_t / k_wgmma_i4w_t (+ _n128; operands in a tiled layout, bulk-copy producer; see namespace
// nwt), and the grouped-scale
// k_wgmma_i8_g / _i4_g (nibble_wgmma_grouped.cuh). Any M, N (edge tiles are predicated);
// Kpad a multiple of 128 (INT8) or 256 (INT4) as for the other GEMM.
#include "nibble_common.cuh"

namespace nwg {

constexpr int kBM = 128;     // two consumer warpgroups of 64 rows each
constexpr int kBK = 128;    // INT8 bytes of K per stage and row: one 128-byte swizzle row

__device__ __forceinline__ uint32_t saddr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void cp16(uint32_t dst, const void* src, bool pred) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(pred ? 16 : 0) : "memory");
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N) : "memory"); }
// generic-proxy writes (cp.async, st.shared) made visible to the async proxy that wgmma reads through
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void wg_arrive() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wg_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" :: "n"(N) : "memory"); }
// keeps the compiler from touching accumulator registers across the asynchronous wgmma
__device__ __forceinline__ void reg_fence(int& r) { asm volatile("" : "+r"(r) :: "memory"); }

// Shared-memory matrix descriptor: K-major tile of 128-byte rows, 128-byte swizzle, 8-row groups
// 1024 bytes apart (stride byte offset); the leading byte offset is unused in this mode.
__device__ __forceinline__ uint64_t desc(uint32_t addr) {
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) | ((uint64_t)1 << 62);
}

// byte offset of 16-byte chunk c of row `row` in the 128-byte-swizzled layout (tile base 1024-aligned)
__device__ __forceinline__ uint32_t swz(int row, int c) { return row * kBK + ((c ^ (row & 7)) << 4); }

// Rows stored for 256-row W block b of a tiled W with N rows: 256, or for the last block the rest rounded up to 8
// (blocks are compact: block b starts at b·(Kpad/64)·256 row segments; segment kt of block b holds its rows)
__device__ __forceinline__ int wblock_rows(int N, int b) {
    const int r = N - b * 256;
    return r >= 256 ? 256 : (r + 7) & ~7;
}


// the same for stages of BK = 128 or 64 bytes of K per row (64: 64-byte swizzle, 8-row groups 512 bytes apart)
template <int BK> __device__ __forceinline__ uint32_t swzB(int row, int c) {
    if constexpr (BK == 128) return swz(row, c);
    else return row * 64 + ((c ^ ((row >> 1) & 3)) << 4);
}
template <int BK> __device__ __forceinline__ uint64_t descB(uint32_t addr) {
    if constexpr (BK == 128) return desc(addr);
    else return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(512 >> 4) << 32) | ((uint64_t)2 << 62);
}
__device__ __forceinline__ void cp4(uint32_t dst, const void* src, bool pred) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(dst), "l"(src), "r"(pred ? 4 : 0) : "memory");
}

__device__ __forceinline__ uint32_t lo16x(uint32_t w) { return (w << 4) & 0xF0F0F0F0u; }
__device__ __forceinline__ uint32_t hi16x(uint32_t w) { return w & 0xF0F0F0F0u; }

template <bool BF16>
__device__ __forceinline__ void mma16(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
    if (BF16)
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    else
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// d[N/2] += A(64 x 32, descriptor da) * B(N x 32, descriptor db)^T, one warpgroup
__device__ __forceinline__ void wgmma_n256(int* d, uint64_t da, uint64_t db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
        "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
        "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
        "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "
        "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]),
          "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]),
          "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]),
          "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]),
          "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]),
          "+r"(d[96]), "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]),
          "+r"(d[104]), "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]),
          "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]), "+r"(d[119]),
          "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]), "+r"(d[126]), "+r"(d[127])
        : "l"(da), "l"(db), "r"(1));
}
__device__ __forceinline__ void wgmma_n128(int* d, uint64_t da, uint64_t db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
        : "l"(da), "l"(db), "r"(1));
}

template <int kBN> __device__ __forceinline__ void wgmma(int* d, uint64_t da, uint64_t db) {
    if constexpr (kBN == 256) wgmma_n256(d, da, db); else wgmma_n128(d, da, db);
}

// MODE 0: INT8 A and W. MODE 1: packed INT4 A and W, both unpacked to INT8 in shared memory.
// MODE 2: INT8 A (4-bit values in bytes, as k_tq2 writes them with bits=8, qmin=-8, qmax=7), packed
// INT4 W unpacked to INT8 in shared memory in natural K order.
// BK (MODE 0 only): bytes of K per stage and row, 128 (4 stages of 128 x 256) or 64 (8 stages: 6 loaded ahead,
// 4 of them during the epilogue). PRE: the epilogue's per-column scales, bias and per-row scales are copied
// (cp.async) into their own 4 KB at the start of the tile's main loop, off the epilogue's critical path.
// ST (MODE 0): stages in the ring instead of the default (3: small enough for two blocks per SM at kBN = 128).
// TBM (MODE 0): rows per tile, 128 (two warpgroups) or 192 (three: 22% fewer bytes loaded per product).
template <int MODE, int kBN, int BK = 128, bool PRE = false, int ST = 0, int TBM = kBM> struct Cfg {
    // MODE 0: [stage: A tile | W tile] x kSTAGES; MODE 1: INT8 buffers x 2, then packed stages x RAWS;
    // MODE 2: [stage: A tile (INT8) | packed W] x kSTAGES, then 2 INT8 W buffers at W8
    static constexpr int STAGE = MODE == 2 ? kBM * kBK + kBN * kBK / 2 : (TBM + kBN) * (MODE == 0 ? BK : kBK);
    static constexpr int RAW = (kBM + kBN) * kBK / 2;                       // packed INT4 bytes per stage (MODE 1)
    static constexpr int kSTAGES = MODE == 0 ? (ST ? ST : BK == 64 ? 8 : kBN == 256 ? 4 : 6) : MODE == 1 ? 2 : 4;
    static constexpr int RAWS = MODE == 1 ? 4 : 1;                          // packed INT4 stages (MODE 1)
    static constexpr int AHEAD = MODE == 1 ? RAWS - 1 : kSTAGES - 2;        // stages loaded ahead
    static constexpr int PRO = MODE == 0 && BK == 64 ? 4 : AHEAD;           // of them, loaded during the epilogue
    static constexpr int W8 = kSTAGES * STAGE;                              // MODE 2: INT8 W buffers
    static constexpr int RING = kSTAGES * STAGE + (MODE == 1 ? RAWS * RAW : MODE == 2 ? 2 * kBN * kBK : 0);
    static constexpr int EPIX = RING;                                       // PRE: [kBN] sw, [kBN] bias, [TBM] sa
    static constexpr int SMEM = RING + (PRE ? 4096 : 0) + 1024;
    // the epilogue stages scales, bias, up rows (and the BF16 output tile) where the next tile's
    // first loads do not go
    static constexpr int EPI = MODE == 1 ? 0 : PRO * STAGE;
    static constexpr int EPI_BYTES = MODE == 0 ? (kSTAGES - PRO) * STAGE : MODE == 1 ? kSTAGES * STAGE
                                   : (kSTAGES - AHEAD) * STAGE + 2 * kBN * kBK;
};
constexpr int SLAB_STRIDE = 64 + 8;                       // floats per slab row (16-byte aligned, no bank conflicts)
constexpr int SLAB_BYTES = 8 * 16 * SLAB_STRIDE * 4;      // 8 warps x 16 rows
constexpr int MAX_RANK = 64;                              // up rows staged for the epilogue: kBN x (r + 8) x 2 bytes
template <int kBN> __host__ __device__ constexpr int epiFixed() { return 2 * kBN * 4 + kBN * (MAX_RANK + 8) * 2; }
// BF16 output tile staged for the bulk stores: [kBM][kBN] bf16, rows padded by 16 bytes (no bank conflicts)
template <int kBN> __host__ __device__ constexpr int stageStride() { return kBN * 2 + 16; }
template <int M_, int N_, int B_ = 128, int ST_ = 0, int TBM_ = kBM> constexpr bool epiFits() {
    return Cfg<M_, N_, B_, false, ST_, TBM_>::EPI_BYTES >= epiFixed<N_>() + SLAB_BYTES * TBM_ / kBM
        && Cfg<M_, N_, B_, false, ST_, TBM_>::EPI_BYTES >= TBM_ * stageStride<N_>();
}
static_assert(epiFits<0, 256>() && epiFits<0, 128>() && epiFits<1, 256>() && epiFits<1, 128>() && epiFits<2, 256>()
              && epiFits<2, 128>() && epiFits<0, 256, 64>() && epiFits<0, 128, 64>() && epiFits<0, 256, 128, 4, 192>()
              && epiFits<0, 256, 128, 3, 192>(), "epilogue staging");
// TensorCoreGemm.WGMMA_SMEM (the dynamic shared memory every launch asks for) covers each variant
constexpr int WGMMA_SMEM_MAX = 4 * (128 + 256) * 128 + 4096 + 1024;
static_assert(Cfg<0, 256, 128, true>::SMEM <= WGMMA_SMEM_MAX && Cfg<1, 256>::SMEM <= WGMMA_SMEM_MAX
              && Cfg<0, 128>::SMEM <= WGMMA_SMEM_MAX && Cfg<1, 128>::SMEM <= WGMMA_SMEM_MAX
              && Cfg<2, 256>::SMEM <= WGMMA_SMEM_MAX && Cfg<2, 128>::SMEM <= WGMMA_SMEM_MAX, "TensorCoreGemm.WGMMA_SMEM");
// TensorCoreGemm.WGMMA_SMEM_SMALL: every variant but k_wgmma_i8 fits the 196 KB carve-out (60 KB of L1 left)
constexpr int WGMMA_SMEM_SMALL = 4 * (128 + 256) * 128 + 1024;
static_assert(Cfg<1, 256>::SMEM <= WGMMA_SMEM_SMALL && Cfg<0, 128>::SMEM <= WGMMA_SMEM_SMALL && Cfg<1, 128>::SMEM <= WGMMA_SMEM_SMALL
              && Cfg<2, 256>::SMEM <= WGMMA_SMEM_SMALL && Cfg<2, 128>::SMEM <= WGMMA_SMEM_SMALL, "TensorCoreGemm.WGMMA_SMEM_SMALL");

// bulk copy shared -> global (no tensor map), tracked per thread in bulk groups
__device__ __forceinline__ void bulk_s2g(void* dst, uint32_t src, int bytes) {
    asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n" :: "l"(dst), "r"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// this thread's bulk copies have read their shared-memory source
__device__ __forceinline__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
// ... and completed
__device__ __forceinline__ void bulk_wait() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }

__device__ __forceinline__ uint32_t bf2(float a, float b) {
    __nv_bfloat162 v = __halves2bfloat162(__float2bfloat16_rn(a), __float2bfloat16_rn(b));
    return *reinterpret_cast<uint32_t*>(&v);
}

// y += lr[m, :] . up[n, :] for a warp's 16 x kBN piece (rows r0, r1 = rowA, rowA + 8 of the wgmma accumulator
// layout), the hi halves then the lo halves of lr as gemm_body, on 16-bit mma.sync. lrAt(row, k): the two 16-bit
// values k, k + 1 of lr's row; upAt(n, k): the address of value k of up's row for the tile's column n (global or
// staged; the caller clamps rows past N)
template <int kBN, class LrAt, class UpAt>
__device__ __forceinline__ void lowrank_up_rows(float* y, LrAt lrAt, int r0, int r1, UpAt upAt, int r, int lrBf16) {
    const int lane = threadIdx.x & 31, gid = lane >> 2, tig = lane & 3;
    for (int kk = 0; kk < 2 * r; kk += 16) {
        const int k0 = kk < r ? kk : kk - r;
        uint32_t la0 = lrAt(r0, kk + tig * 2), la1 = lrAt(r1, kk + tig * 2);
        uint32_t la2 = lrAt(r0, kk + 8 + tig * 2), la3 = lrAt(r1, kk + 8 + tig * 2);
#pragma unroll
        for (int j = 0; j < kBN / 8; j++) {
            const uint16_t* u = upAt(j * 8 + gid, k0 + tig * 2);
            uint32_t ub0 = *reinterpret_cast<const uint32_t*>(u);
            uint32_t ub1 = *reinterpret_cast<const uint32_t*>(u + 8);
            if (lrBf16) mma16<true>(y + j * 4, la0, la1, la2, la3, ub0, ub1);
            else mma16<false>(y + j * 4, la0, la1, la2, la3, ub0, ub1);
        }
    }
}
// lr [M, 2r] read from global memory, up rows staged in shared memory (sup: [kBN][upStride] 16-bit values)
template <int kBN>
__device__ __forceinline__ void lowrank_up(float* y, const void* __restrict__ lr, const uint16_t* sup, int upStride, int r,
        int lrBf16, int rowA, int M) {
    const uint16_t* L = reinterpret_cast<const uint16_t*>(lr);
    auto at = [&](int row, int k) { return *reinterpret_cast<const uint32_t*>(L + (long long)row * 2 * r + k); };
    auto upAt = [&](int n, int k) { return sup + n * upStride + k; };
    lowrank_up_rows<kBN>(y, at, min(rowA, M - 1), min(rowA + 8, M - 1), upAt, r, lrBf16);
}
// columns col..col+3 of row `row` of Y (F32, or with yBf16 BF16 round-to-nearest-even), the ones below N
__device__ __forceinline__ void store4(void* __restrict__ Y, int yBf16, int N, int row, int col, float4 v) {
    if (yBf16) {
        __nv_bfloat16* out = reinterpret_cast<__nv_bfloat16*>(Y) + (long long)row * N + col;
        if ((N & 3) == 0 && col + 3 < N) {
            *reinterpret_cast<uint2*>(out) = make_uint2(bf2(v.x, v.y), bf2(v.z, v.w));
        } else {
            if (col < N) out[0] = __float2bfloat16_rn(v.x);
            if (col + 1 < N) out[1] = __float2bfloat16_rn(v.y);
            if (col + 2 < N) out[2] = __float2bfloat16_rn(v.z);
            if (col + 3 < N) out[3] = __float2bfloat16_rn(v.w);
        }
    } else {
        float* out = reinterpret_cast<float*>(Y) + (long long)row * N + col;
        if ((N & 3) == 0 && col + 3 < N) {
            *reinterpret_cast<float4*>(out) = v;
        } else {
            if (col < N) out[0] = v.x;
            if (col + 1 < N) out[1] = v.y;
            if (col + 2 < N) out[2] = v.z;
            if (col + 3 < N) out[3] = v.w;
        }
    }
}

// Bias, then the store of a warp's 16 x kBN piece of y (the wgmma accumulator layout: y[j*4+t] is row
// gid + 8*(t>>1), column j*8 + 2*tig + (t&1)) through a per-warp shared-memory slab [16][64 + 8 floats],
// 64 columns at a time, so that each warp store writes whole 128-byte lines (16-byte lanes along a row
// for F32, 8-byte lanes for BF16) instead of eight 32-byte pieces of eight rows.
template <int kBN>
__device__ __forceinline__ void slab_store(const float* y, const float* sbias, bool hasBias, float* slab, int rowW,
        int tn0, int M, int N, void* __restrict__ Y, int yBf16) {
    const int lane = threadIdx.x & 31, gid = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int q = 0; q < kBN / 64; q++) {
#pragma unroll
        for (int jj = 0; jj < 8; jj++) {
            const int j = q * 8 + jj;
            float v0 = y[j * 4], v1 = y[j * 4 + 1], v2 = y[j * 4 + 2], v3 = y[j * 4 + 3];
            if (hasBias) {
                const float2 b = *reinterpret_cast<const float2*>(sbias + j * 8 + tig * 2);
                v0 += b.x; v1 += b.y; v2 += b.x; v3 += b.y;
            }
            *reinterpret_cast<float2*>(slab + gid * SLAB_STRIDE + jj * 8 + tig * 2) = make_float2(v0, v1);
            *reinterpret_cast<float2*>(slab + (gid + 8) * SLAB_STRIDE + jj * 8 + tig * 2) = make_float2(v2, v3);
        }
        __syncwarp();
        const int colQ = tn0 + q * 64;
#pragma unroll
        for (int it = 0; it < 8; it++) {
            const int e = it * 32 + lane, rr = e >> 4, c4 = (e & 15) * 4;
            const int row = rowW + rr, col = colQ + c4;
            if (row < M) {
                const float4 v = *reinterpret_cast<const float4*>(slab + rr * SLAB_STRIDE + c4);
                store4(Y, yBf16, N, row, col, v);
            }
        }
        __syncwarp();
    }
}

// BF16 output with N % 8 == 0: bias into y, the whole tile as BF16 into shared memory at `st` (over the
// epilogue's other staging: a block barrier first), then each warp's 16 row segments go out as bulk
// copies that run while the next tile's main loop computes. The caller waits for their reads
// (bulk_wait_read) before the next main loop overwrites `st`, and for their completion before exit.
template <int kBN>
__device__ __forceinline__ void bulk_store(float* y, const float* sbias, bool hasBias, uint8_t* st, int rowT,
        int tm0, int tn0, int M, int N, void* __restrict__ Y) {
    const int lane = threadIdx.x & 31, gid = lane >> 2, tig = lane & 3;
    if (hasBias) {
#pragma unroll
        for (int j = 0; j < kBN / 8; j++) {
            const float2 b = *reinterpret_cast<const float2*>(sbias + j * 8 + tig * 2);
            y[j * 4] += b.x; y[j * 4 + 1] += b.y; y[j * 4 + 2] += b.x; y[j * 4 + 3] += b.y;
        }
    }
    __syncthreads();   // every warp has read the scales, bias and up rows that `st` overlaps
    constexpr int SST = stageStride<kBN>();
    uint8_t* r0 = st + (rowT + gid) * SST + tig * 4;
#pragma unroll
    for (int j = 0; j < kBN / 8; j++) {
        *reinterpret_cast<uint32_t*>(r0 + j * 16) = bf2(y[j * 4], y[j * 4 + 1]);
        *reinterpret_cast<uint32_t*>(r0 + 8 * SST + j * 16) = bf2(y[j * 4 + 2], y[j * 4 + 3]);
    }
    fence_async_smem();   // generic-proxy writes, read by the bulk copy (async proxy)
    __syncwarp();
    if (lane < 16) {
        const int row = tm0 + rowT + lane;
        if (row < M)
            bulk_s2g(reinterpret_cast<__nv_bfloat16*>(Y) + (long long)row * N + tn0, saddr(st + (rowT + lane) * SST),
                     min(kBN, N - tn0) * 2);
        bulk_commit();
    }
}

// Persistent: block b computes tiles b, b + gridDim.x, ... (tile t: rows (t / tilesN) * 128, columns
// (t % tilesN) * kBN); the next tile's first loads are in flight during this tile's epilogue.
// 256 threads: all load (cp.async), warpgroup g computes rows g*64..g*64+63 of the 128 x kBN tile.
// TW (MODE 0, 128-byte stages): W stored TILED as k_wgmma_i8_t reads it (256-row blocks, 64-byte segments and swizzle),
// A row-major: the cp.async pipeline takes each 16-byte chunk from its tiled address (for few tiles, where the
// bulk-copy kernel is slower, the fused linear keeps a single, tiled copy of its weights)
template <int MODE, int kBN, int BK = 128, bool PRE = false, int ST = 0, int TBM = kBM, bool TW = false>
__device__ __forceinline__ void body(const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, const void* __restrict__ lr,
        const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, void* __restrict__ Y,
        int yBf16) {
    static_assert(BK == 128 || (BK == 64 && MODE == 0), "64-byte stages: INT8 only");
    static_assert(TBM == kBM || (MODE == 0 && BK == 128), "192-row tiles: INT8, 128-byte stages only");
    static_assert(!TW || (MODE == 0 && BK == 128 && TBM == kBM), "tiled W: INT8, 128-byte stages");
    using C = Cfg<MODE, kBN, BK, PRE, ST, TBM>;
    constexpr int NT = TBM * 2;                        // threads: TBM / 64 warpgroups
    constexpr int SBK = MODE == 0 ? BK : kBK;         // bytes of K per stage and row
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (saddr(dsm) + 1023u) & ~1023u;
    uint8_t* const g0 = dsm + (s0 - saddr(dsm));      // generic pointer to the aligned base
    const int tid = threadIdx.x, wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31;
    const int gid = lane >> 2, tig = lane & 3;
    const int tilesN = (N + kBN - 1) / kBN, tiles = ((M + TBM - 1) / TBM) * tilesN;
    const int rowBytes = MODE == 0 ? Kpad : Kpad / 2;   // of W (and of A except in MODE 2)
    const int KT = Kpad / SBK;
    int tile = blockIdx.x;
    if (tile >= tiles) return;
    const bool bulkOut = yBf16 && (N & 7) == 0;

    int acc[kBN / 2];

    auto mma_issue = [&](uint32_t ta, uint32_t tb) {
        const uint64_t da = descB<SBK>(ta + wg * 64 * SBK), db = descB<SBK>(tb);
#pragma unroll
        for (int i = 0; i < kBN / 2; i++) reg_fence(acc[i]);
        wg_arrive();
#pragma unroll
        for (int kk = 0; kk < SBK / 32; kk++) wgmma<kBN>(acc, da + 2 * kk, db + 2 * kk);   // +32 bytes of K
        wg_commit();
    };
    auto mma_stage = [&](uint32_t ta, uint32_t tb) {
        mma_issue(ta, tb);
        wg_wait<1>();
#pragma unroll
        for (int i = 0; i < kBN / 2; i++) reg_fence(acc[i]);
    };

    // MODE 0: thread t copies 16-byte chunk t%8 of rows t/8 + 32i; MODE 1: chunk t%4 of packed rows t/4 + 64i;
    // MODE 2: A as MODE 0, W as MODE 1
    constexpr int CPR = MODE == 0 ? BK / 16 : 4;      // 16-byte chunks per row and stage (W; A too but in MODE 2)
    constexpr int RSTEP = 256 / CPR;                  // rows per pass
    const int lrow = tid / CPR, lc = tid % CPR;
    const long long step = (long long)RSTEP * rowBytes;
    const int arow = tid >> 3, ac = tid & 7;          // MODE 2: A chunk mapping
    const uint8_t* pa;
    const uint8_t* pw;
    // TW: this thread's W chunks at stage 0 (row n0 + lrow + RSTEP·i, K bytes 16·lc..): the stage kt one is kt·2
    // segments of its block's rows on (wblock_rows), and the swizzled chunk is fixed per row
    const uint8_t* pwt[kBN / RSTEP];
    int pws[kBN / RSTEP];
    int m0, n0;
    auto setTile = [&](int t) {
        m0 = (t / tilesN) * TBM;
        n0 = (t % tilesN) * kBN;
        if constexpr (MODE == 2) pa = A + (long long)(m0 + arow) * Kpad + ac * 16;
        else pa = A + (long long)(m0 + lrow) * rowBytes + lc * 16;
        pw = W + (long long)(n0 + lrow) * rowBytes + lc * 16;
        if constexpr (TW) {
#pragma unroll
            for (int i = 0; i < kBN / RSTEP; i++) {
                const int n = n0 + lrow + RSTEP * i, rows = wblock_rows(N, n >> 8);
                pwt[i] = W + ((long long)(n >> 8) * (Kpad >> 6) << 14) + (long long)(lc >> 2) * rows * 64 + ((n & 255) << 6)
                        + (((lc & 3) ^ ((n >> 1) & 3)) << 4);
                pws[i] = rows * 128;
            }
        }
    };
    const uint32_t raw0 = s0 + C::kSTAGES * C::STAGE;
    auto load = [&](int stage, int kt) {
        if constexpr (TBM != kBM) {   // 384 threads: chunk e = tid + i * NT of the A rows, then of the W rows
            const uint32_t t = s0 + stage * C::STAGE;
#pragma unroll
            for (int i = 0; i < TBM * 8 / NT; i++) {
                const int e = tid + i * NT, row = e >> 3, c = e & 7;
                const bool ok = m0 + row < M;
                cp16(t + swz(row, c), ok ? A + (long long)(m0 + row) * Kpad + kt * kBK + c * 16 : A, ok);
            }
#pragma unroll
            for (int i = 0; i < (kBN * 8 + NT - 1) / NT; i++) {
                const int e = tid + i * NT, row = e >> 3, c = e & 7;
                const bool ok = n0 + row < N;
                if (e < kBN * 8) cp16(t + TBM * kBK + swz(row, c), ok ? W + (long long)(n0 + row) * Kpad + kt * kBK + c * 16 : W, ok);
            }
            return;
        }
        if constexpr (MODE == 2) {
            const uint32_t ta = s0 + stage * C::STAGE + swz(arow, ac);
#pragma unroll
            for (int i = 0; i < kBM / 32; i++) {
                bool ok = m0 + arow + 32 * i < M;
                cp16(ta + i * 32 * kBK, ok ? pa + (long long)i * 32 * Kpad + kt * kBK : A, ok);
            }
            const uint32_t tw = s0 + stage * C::STAGE + kBM * kBK + lrow * (kBK / 2) + lc * 16;
#pragma unroll
            for (int i = 0; i < kBN / RSTEP; i++) {
                bool ok = n0 + lrow + RSTEP * i < N;
                cp16(tw + i * RSTEP * (kBK / 2), ok ? pw + i * step + kt * (kBK / 2) : W, ok);
            }
            return;
        }
        uint32_t t;
        int kb;
        constexpr int RB = MODE == 0 ? BK : kBK / 2;    // bytes per row and stage
        if constexpr (MODE == 0) {
            t = s0 + stage * C::STAGE + swzB<BK>(lrow, lc);
            kb = kt * BK;
        } else {
            t = raw0 + stage * C::RAW + lrow * RB + lc * 16;
            kb = kt * RB;
        }
#pragma unroll
        for (int i = 0; i < kBM / RSTEP; i++) {
            bool ok = m0 + lrow + RSTEP * i < M;
            cp16(t + i * RSTEP * RB, ok ? pa + i * step + kb : A, ok);
        }
#pragma unroll
        for (int i = 0; i < kBN / RSTEP; i++) {
            const int n = n0 + lrow + RSTEP * i;
            const bool ok = n < N;
            const uint8_t* src = pw + i * step + kb;
            if constexpr (TW) src = pwt[i] + (long long)kt * pws[i];   // chunk (n, kb + 16·lc) at its tiled address
            cp16(t + (kBM + RSTEP * i) * RB, ok ? src : W, ok);
        }
    };
    // MODE 1: packed chunk c (32 codes) of a row -> INT8 chunks 2c (low nibbles) and 2c+1 (high nibbles);
    // A and W get the same permutation of K, so every dot product is unchanged
    auto unpack = [&](int rstage, int buf) {
        const uint8_t* rs = g0 + C::kSTAGES * C::STAGE + rstage * C::RAW;
        uint8_t* bs = g0 + buf * C::STAGE;
#pragma unroll
        for (int i = 0; i < (kBM + kBN) * 4 / 256; i++) {
            int e = tid + i * 256, row = e >> 2, c = e & 3;
            uint4 w = *reinterpret_cast<const uint4*>(rs + row * (kBK / 2) + c * 16);
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c)) = make_uint4(lo16x(w.x), lo16x(w.y), lo16x(w.z), lo16x(w.w));
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c + 1)) = make_uint4(hi16x(w.x), hi16x(w.y), hi16x(w.z), hi16x(w.w));
        }
    };
    // MODE 2: the packed W of a stage -> INT8 (16 x code) in natural K order: packed byte b holds codes
    // 2b (low nibble) and 2b+1 (high), so each packed word gives two INT8 words by byte interleave
    auto unpackW = [&](int stage, int buf) {
        const uint8_t* rs = g0 + stage * C::STAGE + kBM * kBK;
        uint8_t* bs = g0 + C::W8 + buf * kBN * kBK;
#pragma unroll
        for (int i = 0; i < kBN * 4 / 256; i++) {
            int e = tid + i * 256, row = e >> 2, c = e & 3;
            uint4 w = *reinterpret_cast<const uint4*>(rs + row * (kBK / 2) + c * 16);
            uint32_t l0 = lo16x(w.x), h0 = hi16x(w.x), l1 = lo16x(w.y), h1 = hi16x(w.y);
            uint32_t l2 = lo16x(w.z), h2 = hi16x(w.z), l3 = lo16x(w.w), h3 = hi16x(w.w);
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c)) = make_uint4(__byte_perm(l0, h0, 0x5140),
                    __byte_perm(l0, h0, 0x7362), __byte_perm(l1, h1, 0x5140), __byte_perm(l1, h1, 0x7362));
            *reinterpret_cast<uint4*>(bs + swz(row, 2 * c + 1)) = make_uint4(__byte_perm(l2, h2, 0x5140),
                    __byte_perm(l2, h2, 0x7362), __byte_perm(l3, h3, 0x5140), __byte_perm(l3, h3, 0x7362));
        }
    };
    auto prologue = [&]() {
#pragma unroll
        for (int s = 0; s < C::PRO; s++) {
            if (s < KT) load(s, s);
            cp_commit();
        }
    };
    // PRE: this tile's epilogue operands, copied with the first stage loads of its main loop (zero past M, N)
    float* const xsw = reinterpret_cast<float*>(g0 + C::EPIX);
    float* const xbias = xsw + kBN;
    float* const xsa = xbias + kBN;
    auto preEpi = [&]() {
        for (int i = tid; i < kBN; i += NT) {
            const int c = n0 + i;
            cp4(saddr(xsw + i), c < N ? sw + c : sw, c < N);
            cp4(saddr(xbias + i), bias != nullptr && c < N ? bias + c : sw, bias != nullptr && c < N);
        }
        if (tid < TBM) cp4(saddr(xsa + tid), m0 + tid < M ? sa + m0 + tid : sa, m0 + tid < M);
    };

    setTile(tile);
    prologue();
    while (true) {
#pragma unroll
        for (int i = 0; i < kBN / 2; i++) acc[i] = 0;
        if (bulkOut) bulk_wait_read();   // the previous tile's BF16 stores have left the staging area
        if constexpr (MODE == 0) {
            for (int kt = 0; kt < KT; kt++) {
                // one commit group per step; while the catch-up stages (PRO..AHEAD-1, loaded by steps
                // 0 .. AHEAD-PRO-1) are pending, stage kt's group has at most PRO - 1 newer ones
                if (C::PRO < C::AHEAD && kt < 2 * (C::AHEAD - C::PRO) + C::PRO) cp_wait<C::PRO - 1>();
                else cp_wait<C::AHEAD - 1>();
                fence_async_smem();
                __syncthreads();   // stage kt landed for all; wgmma(kt-2) retired in both warpgroups
                if (kt + C::AHEAD < KT) load((kt + C::AHEAD) % C::kSTAGES, kt + C::AHEAD);
                if (C::PRO < C::AHEAD && kt < C::AHEAD - C::PRO && kt + C::PRO < KT) load(kt + C::PRO, kt + C::PRO);
                if (PRE && kt == 0) preEpi();
                cp_commit();
                const uint32_t t = s0 + (kt % C::kSTAGES) * C::STAGE;
                mma_stage(t, t + TBM * BK);
            }
        } else if constexpr (MODE == 1) {
            for (int kt = 0; kt < KT; kt++) {
                cp_wait<C::AHEAD - 1>();
                __syncthreads();   // packed stage kt landed; wgmma(kt-2) retired, so INT8 buffer kt%2 is free
                if (kt + C::AHEAD < KT) load((kt + C::AHEAD) % C::RAWS, kt + C::AHEAD);
                if (PRE && kt == 0) preEpi();
                cp_commit();
                unpack(kt % C::RAWS, kt & 1);
                fence_async_smem();
                __syncthreads();
                const uint32_t t = s0 + (kt & 1) * C::STAGE;
                mma_stage(t, t + kBM * kBK);
            }
        } else {
            for (int kt = 0; kt < KT; kt++) {
                cp_wait<C::AHEAD - 1>();
                __syncthreads();   // stage kt landed; wgmma(kt-2) retired: its stage and INT8 W buffer kt%2 are free
                if (kt + C::AHEAD < KT) load((kt + C::AHEAD) % C::kSTAGES, kt + C::AHEAD);
                if (PRE && kt == 0) preEpi();
                cp_commit();
                unpackW(kt % C::kSTAGES, kt & 1);
                fence_async_smem();   // the unpacked W and this thread's landed cp.async A chunks
                __syncthreads();
                mma_stage(s0 + (kt % C::kSTAGES) * C::STAGE, s0 + C::W8 + (kt & 1) * kBN * kBK);
            }
        }
        wg_wait<0>();
#pragma unroll
        for (int i = 0; i < kBN / 2; i++) reg_fence(acc[i]);
        cp_wait<0>();
        __syncthreads();   // every stage is free

        const int tm0 = m0, tn0 = n0;
        const int next = tile + gridDim.x;
        if (next < tiles) {   // the next tile's first stages load during this epilogue
            setTile(next);
            prologue();
        }

        // per-column operands in shared memory: from global, 128 dependent loads per thread would
        // serialize on their latency (the epilogue cost more than a third of the kernel that way)
        const float* ssw = PRE ? xsw : reinterpret_cast<float*>(g0 + C::EPI);
        const float* sbias = PRE ? xbias : ssw + kBN;
        uint16_t* sup = reinterpret_cast<uint16_t*>(g0 + C::EPI + 2 * kBN * 4);   // [kBN][r + 8]: padded against bank conflicts
        const int upStride = r + 8;
        if (!PRE) {
            for (int i = tid; i < kBN; i += NT) {
                int c = tn0 + i;
                const_cast<float*>(ssw)[i] = c < N ? sw[c] : 0.0f;
                const_cast<float*>(sbias)[i] = bias != nullptr && c < N ? bias[c] : 0.0f;
            }
        }
        if (r > 0) {
            const uint32_t* U = reinterpret_cast<const uint32_t*>(up);
            const int half = r / 2;
            for (int e = tid; e < kBN * half; e += NT) {
                int row = e / half, w = e - row * half;
                int col = min(tn0 + row, N - 1);
                reinterpret_cast<uint32_t*>(sup + row * upStride)[w] = U[(long long)col * half + w];
            }
        }
        if (!PRE || r > 0) __syncthreads();

        // the arithmetic of gemm_body: acc[j*4+t] is row gid + 8*(t>>1), column j*8 + 2*tig + (t&1)
        // (MODE 1: both operands are 16 x code, MODE 2 only W: the power-of-two scale is exact)
        const float unpackScale = MODE == 1 ? (1.0f / 256.0f) : MODE == 2 ? (1.0f / 16.0f) : 1.0f;
        const int rowA = tm0 + wg * 64 + wl * 16 + gid;
        const float sA0 = PRE ? xsa[rowA - tm0] : rowA < M ? sa[rowA] : 0.0f;
        const float sA1 = PRE ? xsa[rowA + 8 - tm0] : rowA + 8 < M ? sa[rowA + 8] : 0.0f;
        float* y = reinterpret_cast<float*>(acc);
#pragma unroll
        for (int j = 0; j < kBN / 8; j++) {
            const float2 w = *reinterpret_cast<const float2*>(ssw + j * 8 + tig * 2);
#pragma unroll
            for (int t = 0; t < 4; t++)
                y[j * 4 + t] = (float)acc[j * 4 + t] * unpackScale * ((t >> 1) ? sA1 : sA0) * ((t & 1) ? w.y : w.x);
        }
        if (r > 0) lowrank_up<kBN>(y, lr, sup, upStride, r, lrBf16, rowA, M);
        if (bulkOut) {
            bulk_store<kBN>(y, sbias, bias != nullptr, g0 + C::EPI, wg * 64 + wl * 16, tm0, tn0, M, N, Y);
        } else {
            float* slab = reinterpret_cast<float*>(g0 + C::EPI + epiFixed<kBN>()) + (tid >> 5) * (16 * SLAB_STRIDE);
            slab_store<kBN>(y, sbias, bias != nullptr, slab, tm0 + wg * 64 + wl * 16, tn0, M, N, Y, yBf16);
        }
        if (next >= tiles) break;
        tile = next;
        // the next main loop's first barrier orders these shared-memory reads before its loads
    }
    if (bulkOut) bulk_wait();
}

}  // namespace nwg

// The arguments of k_gemm_i8 / k_gemm_i4 (G and cpg are ignored: per-row scales only).
#define WG_ARGS const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N, int Kpad, \
    const float* __restrict__ sa, const float* __restrict__ sw, int G, int cpg, const void* __restrict__ lr, \
    const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, void* __restrict__ Y, int yBf16
#define WG_PASS A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16

#define WGMMA_SMEM_I8 (nwg::Cfg<0, 256, 128, true>::SMEM)
#define WGMMA_SMEM_I4 (nwg::Cfg<1, 256>::SMEM)
#define WGMMA_SMEM_I4W (nwg::Cfg<2, 256>::SMEM)
#define WGMMA_SMEM_I8_N128 (nwg::Cfg<0, 128>::SMEM)
#define WGMMA_SMEM_I4_N128 (nwg::Cfg<1, 128>::SMEM)
#define WGMMA_SMEM_I4W_N128 (nwg::Cfg<2, 128>::SMEM)

// k_wgmma_i8 fetches its epilogue operands with the first stage (PRE: measured ~2% faster at 4096 x 3072 x 3072)
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i8(WG_ARGS) { nwg::body<0, 256, 128, true>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i4(WG_ARGS) { nwg::body<1, 256>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i8_n128(WG_ARGS) { nwg::body<0, 128>(WG_PASS); }
// as k_wgmma_i8_n128 with W in k_wgmma_i8_t's tiled layout (A row-major); WGMMA_SMEM_I8_N128
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i8_n128_tw(WG_ARGS) {
    nwg::body<0, 128, 128, false, 0, nwg::kBM, true>(WG_PASS);
}
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i4_n128(WG_ARGS) { nwg::body<1, 128>(WG_PASS); }
// W4A4 with the activation codes as INT8 bytes (values -8..7: k_tq2 with bits=8, qmin=-8, qmax=7; A is
// [M][Kpad] bytes) and W packed INT4 ([N][Kpad/2]): only W is unpacked. Same output as k_gemm_i4 with
// A packed, bit for bit (exact int32 sums, power-of-two unpack scale).
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i4w(WG_ARGS) { nwg::body<2, 256>(WG_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_wgmma_i4w_n128(WG_ARGS) { nwg::body<2, 128>(WG_PASS); }


// ---------------------------------------------------------------- per-row INT8 GEMM on TILED operands
// k_wgmma_i8_t: the per-row INT8 wgmma GEMM fed by the bulk-copy engine (cp.async.bulk global -> shared,
// no tensor map) from operands stored TILED and pre-swizzled, so that each pipeline stage is two
// contiguous blocks (one bulk copy each, issued by one producer thread, completed on the stage's mbarrier
// with expect_tx). Layout for BKT bytes of K per stage (BKT = 128 or 64; Kpad a multiple of BKT):
//   A: [ceil(M/128)][Kpad/BKT][128 rows][BKT bytes]; W: blocks of [Kpad/BKT][256 rows][BKT bytes], the last one
//   compact ([Kpad/BKT][wblock_rows][BKT]: the remaining rows rounded up to 8; the producer copies those rows only);
//   within a row segment the 16-byte chunk c (K bytes 16c..16c+15 of the segment) of row r (row index
//   within the block; equal to the global row mod 8 since blocks are 128/256 rows) is stored at chunk
//   c ^ (r & 7) (BKT = 128: the wgmma 128-byte swizzle) or c ^ ((r >> 1) & 3) (BKT = 64: 64-byte swizzle);
//   rows past M / N are padding (any values, or stage rows left from older data: their outputs are not stored).
// 384 threads: warpgroups 0 and 1 consume (64 rows each of the 128 x 256 tile), warpgroup 2 produces
// (setmaxnreg moves its registers to the consumers). The producer runs ahead across tiles, so the next
// tile's stages load during the epilogue. BULK: BF16 output (N % 8 == 0) staged in its own shared memory
// and stored from there by each warp (INT8 W) or by bulk copies that run during the next tile (packed W);
// the epilogue operands (sw, bias, sa) are
// fetched at the tile's start. Same int32 sums and epilogue arithmetic as k_wgmma_i8, so bit-identical
// to k_gemm_i8 on the untiled operands (wgmma_check); faster than k_wgmma_i8 (cudagemm2.md, gemm4.md).
// Tile width TBN = 256 or 128 (_n128): W stays in 256-row blocks, a 128-wide tile nb reads rows
// (nb & 1) * 128.. of block nb / 2, a contiguous half of each stage block (the swizzle depends on row & 7 only).
// Packed INT4 W (k_wgmma_i4w_t*, W4; A: the tiled bytes above holding 4-bit codes -8..7, BKT = 64):
//   W: the blocks above with 32-byte row segments, row segment (n, kt) = codes 64kt..64kt+63 of row n in the
//   canonical packing (code 64kt+2i in the low nibble of byte i, 64kt+2i+1 in the high one), no swizzle, Kpad a
//   multiple of 256. A stage is [A | INT8 W | packed W]: one producer thread bulk-copies A and
//   the packed block (one mbarrier, as for INT8), the producer's other three warps wait for them, unpack the
//   packed block to 16 x code bytes in the swizzled INT8 W layout, fence (async proxy) and arrive on the stage's
//   full barrier; the epilogue scales by 1/16 (exact), so the output equals k_gemm_i4's on the packed
//   activations, bit for bit.
namespace nwt {
using namespace nwg;

__device__ __forceinline__ void mbar_init(uint32_t b, int n) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(b), "r"(n) : "memory"); }
__device__ __forceinline__ void mbar_arrive(uint32_t b) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" :: "r"(b) : "memory"); }
__device__ __forceinline__ void mbar_wait(uint32_t b, uint32_t parity) {
    asm volatile("{\n.reg .pred P1;\nWAIT_%=:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
                 "@P1 bra DONE_%=;\nbra WAIT_%=;\nDONE_%=:\n}\n" :: "r"(b), "r"(parity) : "memory");
}

constexpr int CW = 32;                              // epilogue slab: 32 columns at a time
constexpr int SST = CW + 4;                         // floats per slab row
constexpr int SLAB = 8 * 16 * SST * 4;
// S: ring stages of 48 KB. BULK: BF16 output (N % 8 == 0) staged in its own shared memory and stored from
// there (W4: by bulk copies that run during the next tile), and the epilogue operands prefetched at the
// tile's start, per warpgroup: no consumer-wide barrier
// BKT: bytes of K per stage and row: 128 (128-byte swizzle) or 64 (64-byte swizzle: finer stages, deeper
// prefetch in the same shared memory; operands tiled [rows/TR][Kpad/64][TR][64])
// TBN: tile width (256 or 128). W4: packed INT4 W, unpacked by the producer warpgroup
template <int S, bool BULK, int BKT = 128, int TBN = 256, bool W4 = false> struct T {
    static_assert(TBN == 256 || TBN == 128, "tile width");
    static_assert(!W4 || BKT == 64, "packed INT4 W: 64 codes per row and stage");
    static constexpr int PW = (kBM + TBN) * BKT;    // W4: the packed W of a stage, after A and the INT8 W
    static constexpr int PWB = TBN * 32;            // its bytes
    static constexpr int STAGE = PW + (W4 ? PWB : 0);
    static constexpr int EPI = S * STAGE;           // BULK: [2][2 * TBN] sw, bias per warpgroup; else [TBN] sw, [TBN] bias
    static constexpr int OUT = EPI + (BULK ? 4 * TBN * 4 : 2 * TBN * 4);   // slabs, or the BF16 tile (rows of stageStride)
    static constexpr int OUT_BYTES = BULK ? kBM * stageStride<TBN>() : SLAB;
    static constexpr int BAR = OUT + OUT_BYTES;     // full[S], empty[S], (W4) loaded[S]
    static constexpr int SMEM = BAR + (W4 ? 3 : 2) * S * 8 + 1024;
    static_assert(SMEM <= 232448 && OUT_BYTES >= SLAB, "shared memory");
};

// programmatic dependent launch: wait until the grids this one depends on have completed and their writes are visible
// (a no-op when the launch had no such dependency)
__device__ __forceinline__ void grid_dependency_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void expect_tx(uint32_t bar, int bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" :: "r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bulk_g2s(uint32_t dst, const void* src, int bytes, uint32_t bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
                 :: "r"(dst), "l"(src), "r"(bytes), "r"(bar) : "memory");
}
__device__ __forceinline__ void cbar() { asm volatile("bar.sync 1, 256;\n" ::: "memory"); }   // consumers only

__device__ __forceinline__ void wgbar(int wg) { asm volatile("bar.sync %0, 128;\n" :: "r"(2 + wg) : "memory"); }

// SK (split K, INT8 W only): each tile's k-steps are split into `splits` contiguous ranges, one work item each (item q:
// tile q / splits, range q % splits). An item's consumers store their int32 sums to its slot of ws ([tile][split]
// [TBN / 8][256] int4), and the item that completes a tile last (a counter per tile, cnt, zero before the launch and
// left zero after it) adds the others' sums to its own and runs the epilogue: int32 addition is exact in any order, so
// the output is the unsplit kernel's bit for bit. No item waits for another (so no residency assumption).
template <int S, bool BULK, int BKT = 128, int TBN = 256, bool W4 = false, bool SK = false>
__device__ __forceinline__ void body(const uint8_t* __restrict__ At, const uint8_t* __restrict__ Wt, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, const void* __restrict__ lr,
        const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, void* __restrict__ Y, int yBf16,
        int splits = 1, int* __restrict__ ws = nullptr, int* __restrict__ cnt = nullptr) {
    static_assert(!SK || !W4, "split K: INT8 W only");
    extern __shared__ __align__(1024) uint8_t dsm[];
    const uint32_t s0 = (saddr(dsm) + 1023u) & ~1023u;
    uint8_t* const g0 = dsm + (s0 - saddr(dsm));
    const int tid = threadIdx.x;
    const int tilesN = (N + TBN - 1) / TBN, tiles = ((M + kBM - 1) / kBM) * tilesN;
    const int items = SK ? tiles * splits : tiles;
    if ((int)blockIdx.x >= items) return;
    const int KT = Kpad / BKT;
    const int nItems = (items - blockIdx.x + gridDim.x - 1) / gridDim.x;
    // work item i of this block: its tile and k-step range [k0, k1)
    auto range = [&](int i, int& t, int& k0, int& k1) {
        const int q = blockIdx.x + i * gridDim.x;
        if (SK) {
            t = q / splits;
            const int sp = q - t * splits;
            k0 = sp * KT / splits;
            k1 = (sp + 1) * KT / splits;
        } else {
            t = q; k0 = 0; k1 = KT;
        }
    };
    int total = 0;
    for (int i = 0; i < nItems; i++) { int t, k0, k1; range(i, t, k0, k1); total += k1 - k0; }
    using C = T<S, BULK, BKT, TBN, W4>;
    constexpr int STAGE = C::STAGE;
    constexpr int NB = 256 / TBN;                   // tiles per 256-row W block
    constexpr int UT = 96;                          // W4: unpacking threads (producer warps 1..3)
    // full: the copies (INT8) or the unpackers (W4) are done; empty: the consumers are done; loaded (W4): the copies
    const uint32_t fullB = s0 + C::BAR, emptyB = fullB + S * 8, loadB = emptyB + S * 8;
    if (tid == 0) {
        for (int s = 0; s < S; s++) {
            mbar_init(fullB + 8 * s, W4 ? UT : 1);
            mbar_init(emptyB + 8 * s, 256);
            if (W4) mbar_init(loadB + 8 * s, 1);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    // a programmatic dependent launch after the transform starts here, under the transform's tail; A and its scales only
    // after this. (Issuing the first stages' weight copies before the wait measured 3.5 µs slower without such a launch:
    // 132 SMs x 96 KB through L2 before the first A arrives.)
    grid_dependency_wait();
    // the kernel after this one (the next k_tq3h, launched as a programmatic dependent) may be launched now: its
    // blocks take the SMs this grid leaves (the last wave's idle ones) and wait there for this grid's completion
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");

    if (tid >= 256) {   // producer warpgroup: one thread issues the copies (W4: warps 1..3 unpack W)
        // registers per thread (from 168 at launch): W4's unpackers need more than one issuing thread (40: spills;
        // 64 measured faster than 56)
        if constexpr (W4) asm volatile("setmaxnreg.dec.sync.aligned.u32 64;\n" ::: "memory");
        else asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
        const int pt = tid - 256;
        const uint32_t copied = W4 ? loadB : fullB;   // the barrier the copies complete on
        if (pt == 0) {
            int it = 0;
            for (int item = 0; item < nItems; item++) {
              int t, k0, k1;
              range(item, t, k0, k1);
              const int mb = t / tilesN, nb = t % tilesN;
              for (int kt = k0; kt < k1; kt++, it++) {
                const int s = it % S;
                mbar_wait(emptyB + 8 * s, ((it / S) & 1) ^ 1);
                const uint32_t base = s0 + s * STAGE;
                // W rows of the tile: 256-row block wb, half nb % NB; the last block may hold fewer rows (compact), the
                // stage's rows past them keep older data, whose outputs (columns >= N) are not stored
                constexpr int RB = W4 ? 32 : BKT;   // W bytes per row and stage
                const int wb = nb / NB, rows = wblock_rows(N, wb), half = nb % NB;
                const int wr = min(TBN, rows - half * TBN);
                expect_tx(copied + 8 * s, kBM * BKT + wr * RB);
                bulk_g2s(base, At + ((long long)mb * KT + kt) * (kBM * BKT), kBM * BKT, copied + 8 * s);
                bulk_g2s(base + (W4 ? C::PW : kBM * BKT),
                         Wt + (long long)wb * KT * (256 * RB) + ((long long)kt * rows + half * TBN) * RB, wr * RB, copied + 8 * s);
              }
            }
            // stay until the consumers have taken the last stages
            for (int it = total > S ? total - S : 0; it < total; it++) mbar_wait(emptyB + 8 * (it % S), (it / S) & 1);
        } else if (W4 && pt >= 32) {
            const int u = pt - 32;
            for (int it = 0; it < total; it++) {
                const int s = it % S;
                mbar_wait(loadB + 8 * s, (it / S) & 1);
                // packed 16-byte chunk c (codes 32c..32c+31) of a row -> INT8 (16 x code) chunks 2c, 2c+1 in natural K
                // order (byte interleave of the low and high nibbles), stored 64-byte swizzled
                const uint8_t* src = g0 + s * STAGE + C::PW;
                uint8_t* dst = g0 + s * STAGE + kBM * BKT;
                // packed chunks per stage and per thread, loaded 3 at a time: their latencies overlap (measured faster
                // than one at a time, 6 at a time, and 8-byte pieces written as whole rows per quarter warp)
                constexpr int NCH = TBN * 2, PER = (NCH + UT - 1) / UT, BATCH = PER < 3 ? PER : 3;
#pragma unroll
                for (int i0 = 0; i0 < PER; i0 += BATCH) {
                    uint4 w[BATCH];
#pragma unroll
                    for (int i = 0; i < BATCH; i++)
                        if (i0 + i < PER && u + (i0 + i) * UT < NCH) w[i] = *reinterpret_cast<const uint4*>(src + (u + (i0 + i) * UT) * 16);
#pragma unroll
                    for (int i = 0; i < BATCH; i++) {
                        const int e = u + (i0 + i) * UT, row = e >> 1, c = e & 1;
                        if (i0 + i >= PER || e >= NCH) break;
                        const uint32_t l0 = nwg::lo16x(w[i].x), h0 = nwg::hi16x(w[i].x), l1 = nwg::lo16x(w[i].y), h1 = nwg::hi16x(w[i].y);
                        const uint32_t l2 = nwg::lo16x(w[i].z), h2 = nwg::hi16x(w[i].z), l3 = nwg::lo16x(w[i].w), h3 = nwg::hi16x(w[i].w);
                        *reinterpret_cast<uint4*>(dst + swzB<64>(row, 2 * c)) = make_uint4(__byte_perm(l0, h0, 0x5140),
                                __byte_perm(l0, h0, 0x7362), __byte_perm(l1, h1, 0x5140), __byte_perm(l1, h1, 0x7362));
                        *reinterpret_cast<uint4*>(dst + swzB<64>(row, 2 * c + 1)) = make_uint4(__byte_perm(l2, h2, 0x5140),
                                __byte_perm(l2, h2, 0x7362), __byte_perm(l3, h3, 0x5140), __byte_perm(l3, h3, 0x7362));
                    }
                }
                fence_async_smem();   // generic-proxy writes, read by wgmma (async proxy)
                mbar_arrive(fullB + 8 * s);
            }
        }
        return;
    }
    if constexpr (W4) asm volatile("setmaxnreg.inc.sync.aligned.u32 216;\n" ::: "memory");   // 128 x 64 + 256 x 216 = 64K
    else asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");

    const int wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31, gid = lane >> 2, tig = lane & 3;
    float* const ssw = reinterpret_cast<float*>(g0 + C::EPI) + (BULK ? wg * 2 * TBN : 0);
    float* const sbias = ssw + TBN;
    float* const slab = reinterpret_cast<float*>(g0 + C::OUT) + (tid >> 5) * (16 * SST);
    const bool bulkOut = BULK && yBf16 && (N & 7) == 0;
    int acc[TBN / 2];
    __shared__ int lastOfTile;   // SK: this item completes its tile
    int it0 = 0;   // the stage sequence number of the item's first k-step
    for (int item = 0; item < nItems; item++) {
        int t, k0, k1;
        range(item, t, k0, k1);
        if (item > 0) { int tp, p0, p1; range(item - 1, tp, p0, p1); it0 += p1 - p0; }
        const int tm0 = (t / tilesN) * kBM, tn0 = (t % tilesN) * TBN;
#pragma unroll
        for (int i = 0; i < TBN / 2; i++) acc[i] = 0;
        float sA0 = 0.0f, sA1 = 0.0f;
        const int rowA = tm0 + wg * 64 + wl * 16 + gid;
        if constexpr (BULK) {   // this warpgroup's epilogue operands, on their way during the main loop
            wgbar(wg);   // the warpgroup's previous epilogue has read them
            for (int i = tid & 127; i < TBN; i += 128) {
                const int c = tn0 + i;
                cp4(saddr(ssw + i), c < N ? sw + c : sw, c < N);
                cp4(saddr(sbias + i), bias != nullptr && c < N ? bias + c : sw, bias != nullptr && c < N);
            }
            nwg::cp_commit();
            sA0 = rowA < M ? sa[rowA] : 0.0f;
            sA1 = rowA + 8 < M ? sa[rowA + 8] : 0.0f;
        }
        const int steps = k1 - k0;
        for (int j = 0; j < steps; j++) {
            const int it = it0 + j, s = it % S;
            if (W4) mbar_wait(loadB + 8 * s, (it / S) & 1);   // A landed (the unpackers saw it too)
            mbar_wait(fullB + 8 * s, (it / S) & 1);
            const uint32_t base = s0 + s * STAGE;
            const uint64_t da = descB<BKT>(base + wg * 64 * BKT), db = descB<BKT>(base + kBM * BKT);
#pragma unroll
            for (int i = 0; i < TBN / 2; i++) reg_fence(acc[i]);
            wg_arrive();
#pragma unroll
            for (int kk = 0; kk < BKT / 32; kk++) wgmma<TBN>(acc, da + 2 * kk, db + 2 * kk);
            wg_commit();
            wg_wait<1>();   // (two stages in flight, wg_wait<2>, measured slower)
#pragma unroll
            for (int i = 0; i < TBN / 2; i++) reg_fence(acc[i]);
            if (j > 0) mbar_arrive(emptyB + 8 * ((it - 1) % S));   // stage it-1 retired
        }
        wg_wait<0>();
#pragma unroll
        for (int i = 0; i < TBN / 2; i++) reg_fence(acc[i]);
        mbar_arrive(emptyB + 8 * ((it0 + steps - 1) % S));
        if constexpr (SK) {
            if (splits > 1) {   // this range's sums out; the tile's last item sums them all (see above)
                const int sp = (blockIdx.x + item * gridDim.x) - t * splits;
                int4* const slot = reinterpret_cast<int4*>(ws) + ((long long)t * splits + sp) * (TBN / 8) * 256;
#pragma unroll
                for (int i = 0; i < TBN / 8; i++) slot[i * 256 + tid] = make_int4(acc[4 * i], acc[4 * i + 1], acc[4 * i + 2], acc[4 * i + 3]);
                __threadfence();
                cbar();
                if (tid == 0) lastOfTile = atomicAdd(cnt + t, 1) == splits - 1;
                cbar();
                if (!lastOfTile) {
                    if constexpr (BULK) nwg::cp_wait<0>();   // the epilogue operands' copies, before the next item's
                    continue;
                }
                __threadfence();
                for (int o = 0; o < splits; o++) {
                    if (o == sp) continue;
                    const int4* const other = reinterpret_cast<const int4*>(ws) + ((long long)t * splits + o) * (TBN / 8) * 256;
#pragma unroll
                    for (int i = 0; i < TBN / 8; i++) {
                        const int4 v = __ldcg(other + i * 256 + tid);   // from L2: written by other SMs
                        acc[4 * i] += v.x; acc[4 * i + 1] += v.y; acc[4 * i + 2] += v.z; acc[4 * i + 3] += v.w;
                    }
                }
                if (tid == 0) cnt[t] = 0;   // for the next launch
#pragma unroll
                for (int i = 0; i < TBN / 2; i++) reg_fence(acc[i]);
            }
        }

        if constexpr (BULK) {
            nwg::cp_wait<0>();
            wgbar(wg);
        } else {
            cbar();   // both warpgroups are done reading the previous tile's columns
            for (int i = tid; i < TBN; i += 256) {
                const int c = tn0 + i;
                ssw[i] = c < N ? sw[c] : 0.0f;
                sbias[i] = bias != nullptr && c < N ? bias[c] : 0.0f;
            }
            sA0 = rowA < M ? sa[rowA] : 0.0f;
            sA1 = rowA + 8 < M ? sa[rowA + 8] : 0.0f;
            cbar();
        }
        float* y = reinterpret_cast<float*>(acc);
        const float unpackScale = W4 ? 1.0f / 16.0f : 1.0f;   // packed W: 16 x code (power of two: exact)
#pragma unroll
        for (int j = 0; j < TBN / 8; j++) {
            const float2 w = *reinterpret_cast<const float2*>(ssw + j * 8 + tig * 2);
#pragma unroll
            for (int q = 0; q < 4; q++)
                y[j * 4 + q] = (float)acc[j * 4 + q] * unpackScale * ((q >> 1) ? sA1 : sA0) * ((q & 1) ? w.y : w.x);
        }
        if (r > 0) {   // y += lr[m, :] . up[n, :], hi halves then lo halves (up rows from global)
            const uint16_t* L = reinterpret_cast<const uint16_t*>(lr);
            const uint16_t* U = reinterpret_cast<const uint16_t*>(up);
            const int r0 = min(rowA, M - 1), r1 = min(rowA + 8, M - 1);
            for (int kk = 0; kk < 2 * r; kk += 16) {
                const int k0 = kk < r ? kk : kk - r;
                uint32_t la0 = *reinterpret_cast<const uint32_t*>(L + (long long)r0 * 2 * r + kk + tig * 2);
                uint32_t la1 = *reinterpret_cast<const uint32_t*>(L + (long long)r1 * 2 * r + kk + tig * 2);
                uint32_t la2 = *reinterpret_cast<const uint32_t*>(L + (long long)r0 * 2 * r + kk + 8 + tig * 2);
                uint32_t la3 = *reinterpret_cast<const uint32_t*>(L + (long long)r1 * 2 * r + kk + 8 + tig * 2);
#pragma unroll
                for (int j = 0; j < TBN / 8; j++) {
                    const uint16_t* u = U + (long long)min(tn0 + j * 8 + gid, N - 1) * r + k0 + tig * 2;
                    uint32_t ub0 = *reinterpret_cast<const uint32_t*>(u);
                    uint32_t ub1 = *reinterpret_cast<const uint32_t*>(u + 8);
                    if (lrBf16) mma16<true>(y + j * 4, la0, la1, la2, la3, ub0, ub1);
                    else mma16<false>(y + j * 4, la0, la1, la2, la3, ub0, ub1);
                }
            }
        }
        const int rowW = tm0 + wg * 64 + wl * 16;
        if (bulkOut) {   // the warp's 16 rows as BF16 into the staged tile, then out to Y
            constexpr int SSB = stageStride<TBN>();
            uint8_t* const st = g0 + C::OUT;
            const int rowT = wg * 64 + wl * 16;
            if constexpr (W4) {
                if (lane < 16) bulk_wait_read();   // this warp's previous tile has left the staging rows
                __syncwarp();
            }
            uint8_t* r0 = st + (rowT + gid) * SSB + tig * 4;
#pragma unroll
            for (int j = 0; j < TBN / 8; j++) {
                float v0 = y[j * 4], v1 = y[j * 4 + 1], v2 = y[j * 4 + 2], v3 = y[j * 4 + 3];
                if (bias) {
                    const float2 b = *reinterpret_cast<const float2*>(sbias + j * 8 + tig * 2);
                    v0 += b.x; v1 += b.y; v2 += b.x; v3 += b.y;
                }
                *reinterpret_cast<uint32_t*>(r0 + j * 16) = bf2(v0, v1);
                *reinterpret_cast<uint32_t*>(r0 + 8 * SSB + j * 16) = bf2(v2, v3);
            }
            if constexpr (!W4) {
                // INT8: the warp stores its rows itself, 16 bytes per lane along whole rows, while the tensor cores
                // wait for the epilogue anyway. Bulk copies that overlap the next main loop measured ~2 us slower at
                // 4096 x 3072 x 3072 (58 vs 56 us on an H200), and so did the producer's idle warps storing during
                // it (67 us): both take shared-memory bandwidth that the main loop's wgmma operand reads need.
                __syncwarp();
                constexpr int CPR = TBN / 8;   // 16-byte chunks per row
                const int cols = min(TBN, N - tn0);
#pragma unroll 4
                for (int i = lane; i < 16 * CPR; i += 32) {
                    const int rr = i / CPR, c = i - rr * CPR;
                    if (rowW + rr < M && c * 8 < cols)
                        *reinterpret_cast<uint4*>(reinterpret_cast<__nv_bfloat16*>(Y) + (long long)(rowW + rr) * N + tn0 + c * 8) =
                            *reinterpret_cast<const uint4*>(st + (rowT + rr) * SSB + c * 16);
                }
                __syncwarp();   // the rows are read before the next tile overwrites them
                continue;
            }
            fence_async_smem();
            __syncwarp();
            if (lane < 16) {
                const int row = rowW + lane;
                if (row < M)
                    bulk_s2g(reinterpret_cast<__nv_bfloat16*>(Y) + (long long)row * N + tn0, saddr(st + (rowT + lane) * SSB),
                             min(TBN, N - tn0) * 2);
                bulk_commit();
            }
            continue;
        }
        // bias, then 32 columns at a time through the warp's slab: 8 lanes per row
#pragma unroll
        for (int q = 0; q < TBN / CW; q++) {
#pragma unroll
            for (int jj = 0; jj < CW / 8; jj++) {
                const int j = q * (CW / 8) + jj;
                float v0 = y[j * 4], v1 = y[j * 4 + 1], v2 = y[j * 4 + 2], v3 = y[j * 4 + 3];
                if (bias) {
                    const float2 b = *reinterpret_cast<const float2*>(sbias + j * 8 + tig * 2);
                    v0 += b.x; v1 += b.y; v2 += b.x; v3 += b.y;
                }
                *reinterpret_cast<float2*>(slab + gid * SST + jj * 8 + tig * 2) = make_float2(v0, v1);
                *reinterpret_cast<float2*>(slab + (gid + 8) * SST + jj * 8 + tig * 2) = make_float2(v2, v3);
            }
            __syncwarp();
#pragma unroll
            for (int i2 = 0; i2 < 16 * CW / 4 / 32; i2++) {
                const int e = i2 * 32 + lane, rr = e / (CW / 4), c4 = (e % (CW / 4)) * 4;
                const int row = rowW + rr, col = tn0 + q * CW + c4;
                if (row < M) {
                    const float4 v = *reinterpret_cast<const float4*>(slab + rr * SST + c4);
                    store4(Y, yBf16, N, row, col, v);
                }
            }
            __syncwarp();
        }
    }
    if (W4 && bulkOut && lane < 16) bulk_wait();
}

}  // namespace nwt



#define WGMMA_T_SMEM (nwt::T<6, true, 64>::SMEM)
static_assert(WGMMA_T_SMEM == 6 * (128 + 256) * 64 + 128 * (2 * 256 + 16) + 4 * 256 * 4 + 2 * 6 * 8 + 1024, "TensorCoreGemm.WGMMA_T_SMEM");
// A, W: the tiled operands above (BKT = 64); the other arguments as k_wgmma_i8. 384 threads, WGMMA_T_SMEM.
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t(WG_ARGS) {
    nwt::body<6, true, 64>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}
// k_wgmma_i8_t with split K (nwt::body, SK), for few tiles: the arguments of k_wgmma_i8_t, then splits (1 <= splits <=
// Kpad / 64), ws (tiles · splits · 128 · TBN int32) and cnt (tiles ints, zero; left zero). Grid: up to tiles · splits
// (a block may take several items). Same shared memory as the unsplit kernel. _n128: 128 x 128 tiles.
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t_sk(WG_ARGS, int splits, int* __restrict__ ws,
        int* __restrict__ cnt) {
    nwt::body<6, true, 64, 256, false, true>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16, splits, ws, cnt);
}
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t_n128_sk(WG_ARGS, int splits, int* __restrict__ ws,
        int* __restrict__ cnt) {
    nwt::body<8, true, 64, 128, false, true>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16, splits, ws, cnt);
}
// 128 x 128 tiles on the same operands (for few tiles): 8 stages of 16 KB. 384 threads, WGMMA_T_N128_SMEM.
#define WGMMA_T_N128_SMEM (nwt::T<8, true, 64, 128>::SMEM)
static_assert(WGMMA_T_N128_SMEM == 8 * (128 + 128) * 64 + 128 * (2 * 128 + 16) + 4 * 128 * 4 + 2 * 8 * 8 + 1024,
              "TensorCoreGemm.WGMMA_T_N128_SMEM");
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i8_t_n128(WG_ARGS) {
    nwt::body<8, true, 64, 128>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}
// W4A4 on tiled operands: A as k_wgmma_i8_t's (4-bit codes one per byte), W packed INT4 tiled (above),
// unpacked by the producer warpgroup. 384 threads. 128 x 256: 6 stages of 32 KB, output through the per-warp
// slabs (WGMMA_I4W_T_SMEM; the BF16 bulk stores leave room for 4 stages only: measured slower);
// 128 x 128: 8 stages of 20 KB, BF16 bulk stores (WGMMA_I4W_T_N128_SMEM).
#define WGMMA_I4W_T_SMEM (nwt::T<6, false, 64, 256, true>::SMEM)
#define WGMMA_I4W_T_N128_SMEM (nwt::T<8, true, 64, 128, true>::SMEM)
static_assert(WGMMA_I4W_T_SMEM == 6 * ((128 + 256) * 64 + 256 * 32) + 2 * 256 * 4 + 8 * 16 * 36 * 4 + 3 * 6 * 8 + 1024,
              "TensorCoreGemm.WGMMA_I4W_T_SMEM");
static_assert(WGMMA_I4W_T_N128_SMEM == 8 * ((128 + 128) * 64 + 128 * 32) + 128 * (2 * 128 + 16) + 4 * 128 * 4 + 3 * 8 * 8 + 1024,
              "TensorCoreGemm.WGMMA_I4W_T_N128_SMEM");
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i4w_t(WG_ARGS) {
    nwt::body<6, false, 64, 256, true>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}
extern "C" __global__ void __launch_bounds__(384, 1) k_wgmma_i4w_t_n128(WG_ARGS) {
    nwt::body<8, true, 64, 128, true>(A, W, M, N, Kpad, sa, sw, lr, up, r, lrBf16, bias, Y, yBf16);
}

// Packed INT4 weights in k_wgmma_i4w_t's tiled layout -> INT8 codes (-8..7) in k_wgmma_i8_t's (same blocks, segments
// and rows; 64-byte swizzle), one 16-byte output chunk per thread. The W4A4 forward with many tiles runs k_wgmma_i8_t
// on this transient copy: faster than unpacking in the GEMM's producer (82 -> ~62 us at 4096 x 3072 x 3072 on an
// H200), with the same int32 sums, so the same output bit for bit; the resident weights stay 4-bit.
// Both layouts hold the same row segments in the same order (compact last block); chunks = 4 per row segment
// (stored rows x Kpad / 64 segments)
extern "C" __global__ void __launch_bounds__(256) k_wgmma_w4t_to_w8t(const uint8_t* __restrict__ w4, uint8_t* __restrict__ w8,
        long long chunks, int N, int Kpad) {
    const long long i = (long long)blockIdx.x * 256 + threadIdx.x;
    if (i >= chunks) return;
    const long long seg = i >> 2;                     // [block][kt][row]
    const long long full = (long long)(N >> 8) * (Kpad >> 6) * 256;   // segments of the full blocks
    const int c = (int)(i & 3), row = seg < full ? (int)(seg & 255) : (int)((seg - full) % nwg::wblock_rows(N, N >> 8));
    const uint2 p = __ldg(reinterpret_cast<const uint2*>(w4 + seg * 32 + c * 8));   // codes 16c..16c+15
    // per byte: 16·code -> code (arithmetic shift of each byte by 4)
    auto sx = [](uint32_t t) { return ((t >> 4) & 0x0F0F0F0Fu) | (((t >> 7) & 0x01010101u) * 0xF0u); };
    uint32_t o[4];
#pragma unroll
    for (int q = 0; q < 2; q++) {
        const uint32_t w = q ? p.y : p.x;                          // byte j: codes 2j (low nibble), 2j + 1 (high)
        const uint32_t ev = sx((w << 4) & 0xF0F0F0F0u), od = sx(w & 0xF0F0F0F0u);
        o[2 * q] = __byte_perm(ev, od, 0x5140);                   // codes 8q + 0..3
        o[2 * q + 1] = __byte_perm(ev, od, 0x7362);               // codes 8q + 4..7
    }
    *reinterpret_cast<uint4*>(w8 + seg * 64 + ((c ^ ((row >> 1) & 3)) << 4)) = make_uint4(o[0], o[1], o[2], o[3]);
}

#include "nibble_wgmma_grouped.cuh"   // the grouped-scale variant (k_wgmma_i8_g, k_wgmma_i4_g)
