// Nibble fused linear kernels (the Nunchaku/ConvRot shape):
//   k_tq*   : read x once; smoothing, shift, grouped Hadamard, per-token or per-(token, group)
//             scales, packed INT4/INT8 codes and the low-rank down projection x_t·down.
//   k_gemm* : INT4xINT4 / INT8xINT8 on tensor cores (mma.sync, int32 accumulation), per-channel or
//             per-group dequantization, low-rank up projection (16-bit mma) and bias in the epilogue.
#include "nibble_common.cuh"

// ---------------------------------------------------------------- transform + quantize

// One CUDA block (256 threads) per R token rows (R = 1 without a low-rank branch; up to 8 with one,
// so that each element of `down` read from L2 serves R rows). Each row lives in shared memory
// (Kpad floats). rot: 0 none, 1 regular Hadamard (blocks n0 = 4^k), 2 Sylvester blocks (n0 = 2^k).
// Activation scales: per token (gs = Kpad, G = 1) or per group gs; written to scales[m*Gout + g]
// (replicated over Gout groups when the scheme is per token but the GEMM is grouped).
// codes: [M, Kpad] int8 or [M, Kpad/2] packed int4 (canonical packing). Padding columns get code 0.
// lr (optional, r > 0): x_t·down as hi/lo F16 (lrDt = DT_F16) or BF16 pairs, [M, 2r]; down is [Kp, r].
#define TQ_MAX_ROWS 8
#define TQ_ARGS const float* __restrict__ x, int K, int Kp, int Kpad, const float* __restrict__ smooth, \
        const float* __restrict__ shift, int rot, int n0, float rscale, int bits, int gs, int Gout, \
        int replicate, float clip, int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, \
        const void* __restrict__ down, int downDt, int r, void* __restrict__ lr, int lrDt, int M, int R
#define TQ_PASS x, K, Kp, Kpad, smooth, shift, rot, n0, rscale, bits, gs, Gout, replicate, clip, qmin, qmax, codes, \
        scales, down, downDt, r, lr, lrDt, M, R
// LR: with the low-rank branch (its registers would halve the occupancy of the plain kernel)
template <bool LR>
__device__ __forceinline__ void tq_body(TQ_ARGS) {
    extern __shared__ __align__(16) float tqsm[];
    float* sm = tqsm;
    __shared__ float red[32];
    __shared__ float gscale[1024];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int G = (Kpad + gs - 1) / gs;
    const int ln0 = __ffs(n0) - 1;
    for (int rr = 0; rr < R; rr++) {
        const long long m = (long long)blockIdx.x * R + rr;
        if (m >= M) break;  // uniform over the block
        float* v = sm + rr * Kpad;
        const float* xr = x + m * K;
        // 1. load, smooth, shift, pad
        if ((K & 3) == 0 && smooth == nullptr && shift == nullptr) {
            const float4* x4 = reinterpret_cast<const float4*>(xr);
            for (int i = tid; i < K / 4; i += 256) reinterpret_cast<float4*>(v)[i] = x4[i];
            for (int i = K + tid; i < Kpad; i += 256) v[i] = 0.0f;
        } else {
            for (int i = tid; i < Kpad; i += 256) {
                float t = 0.0f;
                if (i < K) {
                    t = xr[i];
                    if (smooth) t = __fdiv_rn(t, smooth[i]);
                    if (shift) t = __fadd_rn(t, shift[i]);
                }
                v[i] = t;
            }
        }
        __syncthreads();
        // 2. rotation, canonical butterfly order (all sizes are powers of two: shifts, no divisions)
        float lmax = 0.0f;      // this thread's absmax over the values it finished (regular Hadamard)
        bool scaled = false;
        if (rot == 1) {
            const int quads = Kp >> 2, lqpb = ln0 - 2;
            for (int ls = 0; ls < ln0; ls += 2) {
                const int s = 1 << ls;
                for (int q = tid; q < quads; q += 256) {
                    int blk = q >> lqpb, qq = q & ((1 << lqpb) - 1);
                    int j = (blk << ln0) + ((qq >> ls) << (ls + 2)) + (qq & (s - 1));
                    float a = v[j], b = v[j + s], c = v[j + 2 * s], d = v[j + 3 * s];
                    float apb = a + b, amb = a - b, cpd = c + d, cmd = c - d;
                    float o0 = apb + cmd, o1 = apb - cmd, o2 = amb + cpd, o3 = cpd - amb;
                    if (ls + 2 >= ln0) {  // last stage: the exact 2^-k scale (same product as a separate pass)
                        o0 *= rscale; o1 *= rscale; o2 *= rscale; o3 *= rscale;
                        lmax = fmaxf(lmax, fmaxf(fmaxf(fabsf(o0), fabsf(o1)), fmaxf(fabsf(o2), fabsf(o3))));
                    }
                    v[j] = o0; v[j + s] = o1; v[j + 2 * s] = o2; v[j + 3 * s] = o3;
                }
                __syncthreads();
            }
            scaled = true;
        } else if (rot == 2) {
            const int pairs = Kp >> 1, lppb = ln0 - 1;
            for (int ls = 0; ls < ln0; ls++) {
                const int s = 1 << ls;
                for (int q = tid; q < pairs; q += 256) {
                    int blk = q >> lppb, qq = q & ((1 << lppb) - 1);
                    int j = (blk << ln0) + ((qq >> ls) << (ls + 1)) + (qq & (s - 1));
                    float a = v[j], b = v[j + s];
                    v[j] = a + b; v[j + s] = a - b;
                }
                __syncthreads();
            }
        }
        // 3. the rotation's exact scale, then absmax per group
        if (rot != 0 && !scaled) {
            for (int i = tid; i < Kp; i += 256) v[i] = v[i] * rscale;
            __syncthreads();
        }
        if (G == 1) {
            float amax = lmax;  // padding columns are zero
            if (!scaled) {
                for (int i = tid; i < Kpad / 4; i += 256) {
                    float4 t = reinterpret_cast<const float4*>(v)[i];
                    amax = fmaxf(amax, fmaxf(fmaxf(fabsf(t.x), fabsf(t.y)), fmaxf(fabsf(t.z), fabsf(t.w))));
                }
            }
            amax = block_max(amax, red);
            if (tid == 0) gscale[0] = __fdiv_rn(__fmul_rn(amax, clip), (float)qmax);
        } else {
            for (int g = warp; g < G; g += 8) {
                float amax = 0.0f;
                int from = g * gs, to = min(Kpad, from + gs);
                for (int i = from + lane; i < to; i += 32) amax = fmaxf(amax, fabsf(v[i]));
                amax = warp_max(amax);
                if (lane == 0) gscale[g] = __fdiv_rn(__fmul_rn(amax, clip), (float)qmax);
            }
        }
        __syncthreads();
        for (int g = tid; g < Gout; g += 256) scales[m * Gout + g] = replicate ? gscale[0] : gscale[g];
        // 4. codes, 8 elements per step (a group holds a whole number of 8-element steps)
        if (bits == 4) {
            uint32_t* out = reinterpret_cast<uint32_t*>(codes + m * (Kpad / 2));
            for (int e = tid; e < Kpad / 8; e += 256) {
                const float s = gscale[G == 1 ? 0 : (e * 8) / gs];
                const float inv = 1.0f / s;
                float4 t0 = reinterpret_cast<const float4*>(v)[2 * e], t1 = reinterpret_cast<const float4*>(v)[2 * e + 1];
                float vals[8] = {t0.x, t0.y, t0.z, t0.w, t1.x, t1.y, t1.z, t1.w};
                uint32_t word = 0;
#pragma unroll
                for (int t = 0; t < 8; t++) word |= (uint32_t)(int_code_fast(vals[t], s, inv, qmin, qmax) & 0xF) << (4 * t);
                out[e] = word;
            }
        } else {
            uint2* out = reinterpret_cast<uint2*>(codes + m * Kpad);
            for (int e = tid; e < Kpad / 8; e += 256) {
                const float s = gscale[G == 1 ? 0 : (e * 8) / gs];
                const float inv = 1.0f / s;
                float4 t0 = reinterpret_cast<const float4*>(v)[2 * e], t1 = reinterpret_cast<const float4*>(v)[2 * e + 1];
                float vals[8] = {t0.x, t0.y, t0.z, t0.w, t1.x, t1.y, t1.z, t1.w};
                uint32_t w0 = 0, w1 = 0;
#pragma unroll
                for (int t = 0; t < 4; t++) {
                    w0 |= (uint32_t)(int_code_fast(vals[t], s, inv, qmin, qmax) & 0xFF) << (8 * t);
                    w1 |= (uint32_t)(int_code_fast(vals[t + 4], s, inv, qmin, qmax) & 0xFF) << (8 * t);
                }
                out[e] = make_uint2(w0, w1);
            }
        }
        __syncthreads();
    }
    // 5. low-rank down projection of the block's rows: lane j owns outputs j and j + 32; each
    //    element of `down` is read once for all R rows
    if (LR && r > 0) {
        const long long m0 = (long long)blockIdx.x * R;
        const int rows = (int)min((long long)R, (long long)M - m0);
        float* part = sm + R * Kpad;  // [8 warps][R][64]
        float a0[TQ_MAX_ROWS], a1[TQ_MAX_ROWS];
#pragma unroll
        for (int rr = 0; rr < TQ_MAX_ROWS; rr++) { a0[rr] = 0.0f; a1[rr] = 0.0f; }
        const int chunk = (Kp + 7) / 8, from = warp * chunk, to = min(Kp, from + chunk);
        const bool two = r > 32;
        // 8 loads of `down` in flight before their first use: the loop is L2-latency bound otherwise
        for (int k0 = from; k0 < to; k0 += 8) {
            float d0[8], d1[8];
#pragma unroll
            for (int u = 0; u < 8; u++) {
                int k = k0 + u;
                d0[u] = (k < to && lane < r) ? ldf(down, downDt, (long long)k * r + lane) : 0.0f;
                d1[u] = (two && k < to && lane + 32 < r) ? ldf(down, downDt, (long long)k * r + lane + 32) : 0.0f;
            }
#pragma unroll
            for (int u = 0; u < 8; u++) {
                int k = min(k0 + u, to - 1);
#pragma unroll
                for (int rr = 0; rr < TQ_MAX_ROWS; rr++) {
                    if (rr < rows) {
                        float xv = sm[rr * Kpad + k];
                        a0[rr] = __fmaf_rn(xv, d0[u], a0[rr]);
                        if (two) a1[rr] = __fmaf_rn(xv, d1[u], a1[rr]);
                    }
                }
            }
        }
#pragma unroll
        for (int rr = 0; rr < TQ_MAX_ROWS; rr++) {
            if (rr < rows) {
                part[(warp * R + rr) * 64 + lane] = a0[rr];
                part[(warp * R + rr) * 64 + 32 + lane] = a1[rr];
            }
        }
        __syncthreads();
        for (int o = tid; o < rows * r; o += 256) {
            int rr = o / r, j = o - rr * r;
            // stored as hi + lo 16-bit halves, [M, 2r]: the epilogue's two 16-bit mmas then see
            // x_t·down to ~2^-17 (BF16) / ~2^-22 (F16) instead of one 16-bit rounding
            float s = 0.0f;
            for (int w = 0; w < 8; w++) s += part[(w * R + rr) * 64 + j];
            store_hilo(lr, lrDt, (m0 + rr) * 2 * r + j, r, s);
        }
    }
}

extern "C" __global__ void __launch_bounds__(256, 5) k_tq(TQ_ARGS) { tq_body<false>(TQ_PASS); }
extern "C" __global__ void __launch_bounds__(256) k_tq_lr(TQ_ARGS) { tq_body<true>(TQ_PASS); }

// ---------------------------------------------------------------- tensor-core GEMM

#define BM 128
#define BN 128
#define BKB 128          // bytes of K per stage and row
#define STAGES 3
#define GEMM_SMEM (STAGES * (BM + BN) * BKB)

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool pred) {
    int sz = pred ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(sz));
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void mma_s8(int* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_s4(int* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
template <bool BF16>
__device__ __forceinline__ void mma_16(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
    if (BF16)
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    else
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// low nibbles / high nibbles of 4 bytes as int8 lanes holding 16 * code (exact two's complement)
__device__ __forceinline__ uint32_t lo16x(uint32_t w) { return (w << 4) & 0xF0F0F0F0u; }
__device__ __forceinline__ uint32_t hi16x(uint32_t w) { return w & 0xF0F0F0F0u; }

// swizzled byte offset of 16-byte chunk c of row `row` in a [rows][128 B] tile
__device__ __forceinline__ int swz(int row, int c) { return row * BKB + ((c ^ (row & 7)) << 4); }

// The mma asm statements are not volatile (pure register ops), so the compiler may interleave them
// with the (volatile) ldmatrix loads of the next chunk.
// MODE 0: int8 codes; 1: int4 codes unpacked to int8 (sm_90); 2: int4 codes on native s4 mma (sm_80-89)
// A [M, Kpad] codes (bytes per row = Kpad or Kpad/2), W [N, Kpad]; Kpad a multiple of 128 (INT8) or 256 (INT4).
// GROUPED: scales sa [M, G], sw [N, G], group = |cpg| chunks of 32 bytes (cpg < 0: group sums fit
// 22 bits, convert without I2F); else sa [M], sw [N].
// lr [M, 2r] (hi, lo) and up [N, r] in F16 or BF16 (r a multiple of 16, 0 for none); bias [N] or null.
// Y [M, N]: F32 (yBf16 = 0) or BF16 (yBf16 = 1: __float2bfloat16_rn of the float the F32 path stores).
template <int MODE, bool GROUPED>
__device__ __forceinline__ void gemm_body(const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N,
        int Kpad, const float* __restrict__ sa, const float* __restrict__ sw, int G, int cpg,
        const void* __restrict__ lr, const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias,
        void* __restrict__ Y, int yBf16) {
    extern __shared__ __align__(128) uint8_t smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 2, wn = warp & 3;   // 2 x 4 warps, each 64 x 32
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int rowBytes = MODE == 0 ? Kpad : Kpad / 2;
    const int KT = rowBytes / BKB;
    uint8_t* sA = smem;
    uint8_t* sB = smem + STAGES * BM * BKB;

    auto load = [&](int stage, int kt) {
        const int kb = kt * BKB;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = tid + i * 256, row = e >> 3, c = e & 7;
            int gm = m0 + row, gn = n0 + row;
            cp_async16(smem_u32(sA + stage * BM * BKB + swz(row, c)),
                       A + (long long)min(gm, M - 1) * rowBytes + kb + c * 16, gm < M);
            cp_async16(smem_u32(sB + stage * BN * BKB + swz(row, c)),
                       W + (long long)min(gn, N - 1) * rowBytes + kb + c * 16, gn < N);
        }
    };

    int acc[4][4][4];
    float facc[GROUPED ? 4 : 1][GROUPED ? 4 : 1][GROUPED ? 4 : 1];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int t = 0; t < 4; t++) acc[i][j][t] = 0;
    if (GROUPED) {
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int t = 0; t < 4; t++) facc[GROUPED ? i : 0][GROUPED ? j : 0][GROUPED ? t : 0] = 0.0f;
    }
    const int gid = lane >> 2, tig = lane & 3;
    cpg = cpg < 0 ? -cpg : cpg;     // the sign is a hint (group sums fit 22 bits), unused

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < KT) load(s, s);
        cp_commit();
    }
    for (int kt = 0; kt < KT; kt++) {
        cp_wait<STAGES - 2>();
        __syncthreads();
        int nk = kt + STAGES - 1;
        if (nk < KT) load(nk % STAGES, nk);
        cp_commit();
        const uint8_t* tA = sA + (kt % STAGES) * BM * BKB;
        const uint8_t* tB = sB + (kt % STAGES) * BN * BKB;
#pragma unroll
        for (int kc = 0; kc < 4; kc++) {
            uint32_t a[4][4], b[4][2];
            const int mi = lane >> 3;
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int row = wm * 64 + i * 16 + (mi & 1) * 8 + (lane & 7);
                ldsm_x4(smem_u32(tA + swz(row, kc * 2 + (mi >> 1))), a[i][0], a[i][1], a[i][2], a[i][3]);
            }
#pragma unroll
            for (int j = 0; j < 2; j++) {
                int row = wn * 32 + j * 16 + (mi >> 1) * 8 + (lane & 7);
                ldsm_x4(smem_u32(tB + swz(row, kc * 2 + (mi & 1))), b[2 * j][0], b[2 * j][1], b[2 * j + 1][0], b[2 * j + 1][1]);
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    if (MODE == 0) {
                        mma_s8(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b[j][0], b[j][1]);
                    } else if (MODE == 2) {
                        mma_s4(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b[j][0], b[j][1]);
                    } else {
                        mma_s8(acc[i][j], lo16x(a[i][0]), lo16x(a[i][1]), hi16x(a[i][0]), hi16x(a[i][1]),
                               lo16x(b[j][0]), hi16x(b[j][0]));
                        mma_s8(acc[i][j], lo16x(a[i][2]), lo16x(a[i][3]), hi16x(a[i][2]), hi16x(a[i][3]),
                               lo16x(b[j][1]), hi16x(b[j][1]));
                    }
                }
            }
            if (GROUPED) {
                int chunk = kt * 4 + kc;
                if ((chunk + 1) % cpg == 0) {
                    int g = chunk / cpg;
                    float fa[4][2], fb[4][2];
#pragma unroll
                    for (int i = 0; i < 4; i++) {
                        int row = m0 + wm * 64 + i * 16 + gid;
                        fa[i][0] = row < M ? sa[(long long)row * G + g] : 0.0f;
                        fa[i][1] = row + 8 < M ? sa[(long long)(row + 8) * G + g] : 0.0f;
                    }
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        int col = n0 + wn * 32 + j * 8 + tig * 2;
                        fb[j][0] = col < N ? sw[(long long)col * G + g] : 0.0f;
                        fb[j][1] = col + 1 < N ? sw[(long long)(col + 1) * G + g] : 0.0f;
                    }
#pragma unroll
                    for (int i = 0; i < 4; i++)
#pragma unroll
                        for (int j = 0; j < 4; j++)
#pragma unroll
                            for (int t = 0; t < 4; t++) {
                                // (an I2F-free conversion, 1.5·2^23 + acc, measured no faster on H200:
                                // the flush is bound by its loads and registers, not by I2F)
                                facc[GROUPED ? i : 0][GROUPED ? j : 0][GROUPED ? t : 0] +=
                                        (float)acc[i][j][t] * fa[i][t >> 1] * fb[j][t & 1];
                                acc[i][j][t] = 0;
                            }
                }
            }
        }
    }
    cp_wait<0>();

    // epilogue: dequantize into float accumulators
    const float unpackScale = MODE == 1 ? (1.0f / 256.0f) : 1.0f;
    float y[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int row = m0 + wm * 64 + i * 16 + gid;
        float s0 = 0.0f, s1 = 0.0f;
        if (!GROUPED) {
            s0 = row < M ? sa[row] : 0.0f;
            s1 = row + 8 < M ? sa[row + 8] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int col = n0 + wn * 32 + j * 8 + tig * 2;
#pragma unroll
            for (int t = 0; t < 4; t++) {
                if (GROUPED) {
                    y[i][j][t] = facc[GROUPED ? i : 0][GROUPED ? j : 0][GROUPED ? t : 0] * unpackScale;
                } else {
                    int c = col + (t & 1);
                    float w = c < N ? sw[c] : 0.0f;
                    y[i][j][t] = (float)acc[i][j][t] * unpackScale * ((t >> 1) ? s1 : s0) * w;
                }
            }
        }
    }
    // low-rank up projection on tensor cores: y += lr[m, :] · up[n, :]
    if (r > 0) {
        const uint16_t* L = reinterpret_cast<const uint16_t*>(lr);
        const uint16_t* U = reinterpret_cast<const uint16_t*>(up);
        for (int kk = 0; kk < 2 * r; kk += 16) {   // hi halves, then lo halves
            const int k0 = kk < r ? kk : kk - r;
            uint32_t la[4][4], ub[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int row = m0 + wm * 64 + i * 16 + gid;
                int r0 = min(row, M - 1), r1 = min(row + 8, M - 1);
                la[i][0] = *reinterpret_cast<const uint32_t*>(L + (long long)r0 * 2 * r + kk + tig * 2);
                la[i][1] = *reinterpret_cast<const uint32_t*>(L + (long long)r1 * 2 * r + kk + tig * 2);
                la[i][2] = *reinterpret_cast<const uint32_t*>(L + (long long)r0 * 2 * r + kk + 8 + tig * 2);
                la[i][3] = *reinterpret_cast<const uint32_t*>(L + (long long)r1 * 2 * r + kk + 8 + tig * 2);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int col = min(n0 + wn * 32 + j * 8 + gid, N - 1);
                ub[j][0] = *reinterpret_cast<const uint32_t*>(U + (long long)col * r + k0 + tig * 2);
                ub[j][1] = *reinterpret_cast<const uint32_t*>(U + (long long)col * r + k0 + 8 + tig * 2);
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    if (lrBf16) mma_16<true>(y[i][j], la[i][0], la[i][1], la[i][2], la[i][3], ub[j][0], ub[j][1]);
                    else mma_16<false>(y[i][j], la[i][0], la[i][1], la[i][2], la[i][3], ub[j][0], ub[j][1]);
                }
        }
    }
    // bias and store
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int row = m0 + wm * 64 + i * 16 + gid + h * 8;
            if (row >= M) continue;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int col = n0 + wn * 32 + j * 8 + tig * 2;
                float v0 = y[i][j][h * 2], v1 = y[i][j][h * 2 + 1];
                if (bias) { if (col < N) v0 += bias[col]; if (col + 1 < N) v1 += bias[col + 1]; }
                if (yBf16) {   // RNE of exactly the float the F32 path stores
                    __nv_bfloat16* out = reinterpret_cast<__nv_bfloat16*>(Y) + (long long)row * N + col;
                    if (col + 1 < N && (N & 1) == 0) {
                        *reinterpret_cast<__nv_bfloat162*>(out) = __halves2bfloat162(__float2bfloat16_rn(v0), __float2bfloat16_rn(v1));
                    } else {
                        if (col < N) out[0] = __float2bfloat16_rn(v0);
                        if (col + 1 < N) out[1] = __float2bfloat16_rn(v1);
                    }
                    continue;
                }
                float* out = reinterpret_cast<float*>(Y) + (long long)row * N + col;
                if (col + 1 < N && (N & 1) == 0) {
                    *reinterpret_cast<float2*>(out) = make_float2(v0, v1);
                } else {
                    if (col < N) out[0] = v0;
                    if (col + 1 < N) out[1] = v1;
                }
            }
        }
    }
}

#define GEMM_ARGS const uint8_t* __restrict__ A, const uint8_t* __restrict__ W, int M, int N, int Kpad, \
    const float* __restrict__ sa, const float* __restrict__ sw, int G, int cpg, const void* __restrict__ lr, \
    const void* __restrict__ up, int r, int lrBf16, const float* __restrict__ bias, void* __restrict__ Y, int yBf16
#define GEMM_PASS A, W, M, N, Kpad, sa, sw, G, cpg, lr, up, r, lrBf16, bias, Y, yBf16

extern "C" __global__ void __launch_bounds__(256, 2) k_gemm_i8(GEMM_ARGS) { gemm_body<0, false>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_gemm_i8_g(GEMM_ARGS) { gemm_body<0, true>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) k_gemm_i4(GEMM_ARGS) { gemm_body<1, false>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_gemm_i4_g(GEMM_ARGS) { gemm_body<1, true>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256, 2) k_gemm_s4(GEMM_ARGS) { gemm_body<2, false>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256, 1) k_gemm_s4_g(GEMM_ARGS) { gemm_body<2, true>(GEMM_PASS); }

// ---------------------------------------------------------------- transform + quantize, register path
// k_tq2_s{1,2}: one block per token row, one warp per 256-column segment (SPW segments per
// warp), the segment in registers (lane l holds columns 4l..4l+3 and 128+4l..128+4l+3). Grouped Hadamard (regular n0 = 4^k or
// Sylvester n0 = 2^k, n0 <= 256) by butterflies within a lane and shuffles, in the canonical stage
// order of numerics/Hadamard. A radix-4 stage over index bits held by lanes uses, for the digit t of
// the lane, o_t = (x_t + x_{t^1}) + E_{t^2} with E_u = x_u - x_{u^1}: the same IEEE operations as the
// reference butterfly (a - b == a + (-b); only the sign of a zero can differ, which no code sees).
// Scales per token (gs >= Kpad: one barrier), per group of gs <= 256 (a power of two: shuffles) or
// gs a multiple of 256 (one barrier). Codes: rint(x/s) from x·(1/s) (see int_code_fast), rounded by
// the 1.5·2^23 trick after clamping, exact division for the rare quotient near a half-integer.
// lrpart (optional): [ks, M, r] partial sums of x_t·down from k_lr_down; summed here into lr [M, 2r]
// (hi, lo 16-bit halves, as k_tq_lr writes them).
#define TQ2_MAGIC 12582912.0f

// radix-4 butterfly on 4 registers (index bits in the lane's registers): the reference order
__device__ __forceinline__ void bfly4(float& a, float& b, float& c, float& d) {
    float apb = a + b, amb = a - b, cpd = c + d, cmd = c - d;
    a = apb + cmd; b = apb - cmd; c = amb + cpd; d = cpd - amb;
}

// codes of 4 values v·pre with scale s (inv = pre/s, tol: see tq2_row), low bytes in t[0..3]. CLAMP false
// when no code can leave [qmin, qmax] (clip >= 1: |v·pre| <= absmax, so |q| <= qmax·(1 + 2^-22)).
template <bool CLAMP>
__device__ __forceinline__ void tq2_codes4(const float* v, float pre, float s, float inv, float tol, int qmin, int qmax, uint32_t* t) {
    bool bad = false;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        float qa = __fmul_rn(v[e], inv);
        float qc = CLAMP ? fminf(fmaxf(qa, (float)qmin), (float)qmax) : qa;
        float tm = __fadd_rn(qc, TQ2_MAGIC);          // rint (ties to even): |qc| <= 128 < 2^22
        float d = __fsub_rn(qa, __fsub_rn(tm, TQ2_MAGIC));
        // near a half-integer, or NaN (without clamping |d| <= 0.5, so one comparison suffices)
        bad |= CLAMP ? !(fabsf(__fsub_rn(fabsf(d), 0.5f)) > tol) : !(fabsf(d) < 0.5f - tol);
        t[e] = __float_as_uint(tm);
    }
    if (bad) {
#pragma unroll
        for (int e = 0; e < 4; e++) t[e] = (uint32_t)int_code(v[e] * pre, s, 0, qmin, qmax);
    }
}

// the low-rank partial sums of row m (ks splits from k_lr_down, + lrbias) into lr [M, 2r] as hi + lo 16-bit halves;
// one warp
__device__ __forceinline__ void tq_lowrank_row(const float* __restrict__ lrpart, int ks, int r, void* __restrict__ lr,
        int lrDt, const float* __restrict__ lrbias, int M, long long m, int lane) {
    for (int j = lane; j < r; j += 32) {
        float s = lrbias ? lrbias[j] : 0.0f;   // shift·down (k_lr_down reads x unshifted)
        for (int k = 0; k < ks; k++) s += lrpart[((long long)k * M + m) * r + j];
        store_hilo(lr, lrDt, m * 2 * r + j, r, s);
    }
}

template <int SPW>
__device__ __forceinline__ void tq2_row(int K, int Kpad, const float* __restrict__ smooth,
        const float* __restrict__ shift, int rot, int ln0, float rscale, int bits, int gs, int Gout, float clip,
        int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, const float* __restrict__ lrpart,
        int ks, int r, void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M, long long m,
        float (&v)[SPW][8], float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, W = blockDim.x >> 5;
    // layout: v[i][4h + e] is column (warp + i·W)·256 + 128h + 4·lane + e (h = 0, 1; e = 0..3), i.e. index
    // bits 0-1 of a segment are register bits, bits 2-6 lane bits, bit 7 the register half h
    // 1. smooth, shift (the raw row is in v, zero beyond K)
    if (smooth != nullptr || shift != nullptr) {
#pragma unroll
        for (int i = 0; i < SPW; i++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int c = ((warp + i * W) << 8) + (h << 7) + (lane << 2);
                if (c < K) {
                    const float4 s0 = smooth ? __ldg(reinterpret_cast<const float4*>(smooth + c)) : make_float4(1.f, 1.f, 1.f, 1.f);
                    const float4 h0 = shift ? __ldg(reinterpret_cast<const float4*>(shift + c)) : make_float4(0.f, 0.f, 0.f, 0.f);
                    const float sv[4] = {s0.x, s0.y, s0.z, s0.w}, hv[4] = {h0.x, h0.y, h0.z, h0.w};
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        if (smooth) v[i][4 * h + e] = __fdiv_rn(v[i][4 * h + e], sv[e]);
                        if (shift) v[i][4 * h + e] = __fadd_rn(v[i][4 * h + e], hv[e]);
                    }
                }
            }
        }
    }
    // 2. rotation (blocks of n0 = 2^ln0 columns, never across a segment)
    if (rot == 1 && ln0 >= 2) {
#pragma unroll
        for (int i = 0; i < SPW; i++) {
            // stage 0 (index bits 0, 1: registers)
            bfly4(v[i][0], v[i][1], v[i][2], v[i][3]);
            bfly4(v[i][4], v[i][5], v[i][6], v[i][7]);
            if (ln0 >= 4) {  // stage 1: lane bits 0, 1
#pragma unroll
                for (int u = 0; u < 8; u++) {
                    float p = __shfl_xor_sync(0xffffffffu, v[i][u], 1);
                    float A = v[i][u] + p, E = v[i][u] - p;
                    v[i][u] = A + __shfl_xor_sync(0xffffffffu, E, 2);
                }
            }
            if (ln0 >= 6) {  // stage 2: lane bits 2, 3
#pragma unroll
                for (int u = 0; u < 8; u++) {
                    float p = __shfl_xor_sync(0xffffffffu, v[i][u], 4);
                    float A = v[i][u] + p, E = v[i][u] - p;
                    v[i][u] = A + __shfl_xor_sync(0xffffffffu, E, 8);
                }
            }
            if (ln0 >= 8) {  // stage 3: digit bit 0 = lane bit 4, digit bit 1 = the register half
                float A[8], E[8];
#pragma unroll
                for (int u = 0; u < 8; u++) {
                    float p = __shfl_xor_sync(0xffffffffu, v[i][u], 16);
                    A[u] = v[i][u] + p; E[u] = v[i][u] - p;
                }
#pragma unroll
                for (int u = 0; u < 8; u++) v[i][u] = A[u] + E[u ^ 4];
            }
            // the exact power-of-two scale 2^-k is applied to absmax and 1/s instead (see step 3)
        }
    } else if (rot == 2) {
#pragma unroll
        for (int i = 0; i < SPW; i++) {
#pragma unroll
            for (int ls = 0; ls < 2; ls++) {   // index bits 0, 1: registers
                if (ls < ln0) {
                    const int s = 1 << ls;
#pragma unroll
                    for (int u = 0; u < 8; u++) {
                        if ((u & s) == 0) {
                            float a = v[i][u], b = v[i][u + s];
                            v[i][u] = a + b; v[i][u + s] = a - b;
                        }
                    }
                }
            }
            for (int ls = 2; ls < ln0 && ls < 7; ls++) {  // bits 2..6: lanes (the upper lane computes a - b as -b + a)
                const int lb = 1 << (ls - 2);
                const bool hi = (lane & lb) != 0;
#pragma unroll
                for (int u = 0; u < 8; u++) {
                    float p = __shfl_xor_sync(0xffffffffu, v[i][u], lb);
                    v[i][u] = hi ? p - v[i][u] : v[i][u] + p;
                }
            }
            if (ln0 >= 8) {  // bit 7: the register half
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    float a = v[i][u], b = v[i][u + 4];
                    v[i][u] = a + b; v[i][u + 4] = a - b;
                }
            }
#pragma unroll
            for (int e = 0; e < 8; e++) v[i][e] = v[i][e] * rscale;
        }
    }
    // 3. absmax per scale group (per half-segment: am[i][h]), scale, codes
    const bool token = gs >= Kpad;
    float am[SPW][2];
#pragma unroll
    for (int i = 0; i < SPW; i++)
#pragma unroll
        for (int h = 0; h < 2; h++)
            am[i][h] = fmaxf(fmaxf(fabsf(v[i][4 * h]), fabsf(v[i][4 * h + 1])), fmaxf(fabsf(v[i][4 * h + 2]), fabsf(v[i][4 * h + 3])));
    if (!token && gs <= 128) {
        const int lpg = gs >> 2;   // lanes per group
#pragma unroll
        for (int i = 0; i < SPW; i++)
            for (int o = 1; o < lpg; o <<= 1) {
                am[i][0] = fmaxf(am[i][0], __shfl_xor_sync(0xffffffffu, am[i][0], o));
                am[i][1] = fmaxf(am[i][1], __shfl_xor_sync(0xffffffffu, am[i][1], o));
            }
    } else if (!token && gs == 256) {
#pragma unroll
        for (int i = 0; i < SPW; i++) am[i][0] = am[i][1] = warp_max(fmaxf(am[i][0], am[i][1]));
    } else {
#pragma unroll
        for (int i = 0; i < SPW; i++) {
            float a = warp_max(fmaxf(am[i][0], am[i][1]));
            if (lane == 0) red[warp + i * W] = a;
        }
        __syncthreads();
        const int S = W * SPW;
        if (token) {
            float a = 0.0f;
            for (int j = lane; j < S; j += 32) a = fmaxf(a, red[j]);
            a = warp_max(a);
#pragma unroll
            for (int i = 0; i < SPW; i++) am[i][0] = am[i][1] = a;
        } else {
            const int spg = gs >> 8;
#pragma unroll
            for (int i = 0; i < SPW; i++) {
                const int g0 = ((warp + i * W) / spg) * spg;
                float a = 0.0f;
                for (int j = g0; j < g0 + spg && j < S; j++) a = fmaxf(a, red[j]);
                am[i][0] = am[i][1] = a;
            }
        }
    }
    const float tolq = 9.5367431640625e-07f * (float)(qmax - qmin);   // 2^-20 · (a bound on |q| + 1)
    // regular Hadamard: v is unscaled; x_t = v·2^-k exactly (a power of two) unless it underflows
    const float pre = rot == 1 ? rscale : 1.0f;
    const bool once = token || gs >= 256;   // both halves of a lane share the scale
#pragma unroll
    for (int i = 0; i < SPW; i++) {
        float s = 0.0f, inv = 0.0f, tol = 0.0f;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int c = ((warp + i * W) << 8) + (h << 7) + (lane << 2);
            if (h == 0 || !once) {
                const float a = am[i][h] * pre;
                s = __fdiv_rn(__fmul_rn(a, clip), (float)qmax);
                const float r = s == 0.0f ? 0.0f : __frcp_rn(s);
                inv = r * pre;
                // x·inv is within 1.5·2^-23 relative of x_t/s when nothing under- or overflows: 2^-20·(|qmin| + 1)
                // covers every half-integer a code can round from; otherwise the division everywhere
                tol = isfinite(r) && (s == 0.0f || (a >= 1e-30f && inv >= 1e-30f)) ? tolq : INFINITY;
            }
            if (token) {
                if (warp == 0 && i == 0 && h == 0)
                    for (int g = lane; g < Gout; g += 32) scales[m * Gout + g] = s;
            } else if (gs <= 256) {
                if ((c & (gs - 1)) == 0 && c < Kpad && c / gs < Gout) scales[m * Gout + c / gs] = s;
            } else if (lane == 0 && h == 0 && ((warp + i * W) % (gs >> 8)) == 0 && c / gs < Gout) {
                scales[m * Gout + c / gs] = s;
            }
            if (c >= Kpad) continue;
            uint32_t t[4];
            if (clip >= 1.0f) tq2_codes4<false>(&v[i][4 * h], pre, s, inv, tol, qmin, qmax, t);
            else tq2_codes4<true>(&v[i][4 * h], pre, s, inv, tol, qmin, qmax, t);
            if (bits == 4) {
                uint32_t ev = __byte_perm(t[0], t[2], 0x0040), od = __byte_perm(t[1], t[3], 0x0040);
                reinterpret_cast<uint16_t*>(codes + m * (Kpad / 2))[c >> 2] = (uint16_t)((ev & 0x0F0Fu) | ((od << 4) & 0xF0F0u));
            } else {
                reinterpret_cast<uint32_t*>(codes + m * Kpad)[c >> 2] =
                        __byte_perm(__byte_perm(t[0], t[1], 0x0040), __byte_perm(t[2], t[3], 0x0040), 0x5410);
            }
        }
    }
    // 4. the low-rank partial sums of this row, as hi + lo 16-bit halves
    if (lrpart != nullptr && warp == W - 1) tq_lowrank_row(lrpart, ks, r, lr, lrDt, lrbias, M, m, lane);
}

// x is F32 or BF16 (xBf16: bf16[M][K], each value widened exactly to float: bits << 16)
__device__ __forceinline__ void bf16x4(uint2 u, float* o) {
    o[0] = __uint_as_float(u.x << 16); o[1] = __uint_as_float(u.x & 0xFFFF0000u);
    o[2] = __uint_as_float(u.y << 16); o[3] = __uint_as_float(u.y & 0xFFFF0000u);
}

// raw x of one row into registers (zero beyond K): two 16-byte (F32) or 8-byte (BF16) loads per lane and segment, coalesced
template <int SPW, bool BF16>
__device__ __forceinline__ void tq2_load(const void* __restrict__ x, int K, long long m, float (&v)[SPW][8]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, W = blockDim.x >> 5;
#pragma unroll
    for (int i = 0; i < SPW; i++) {
        const int c = ((warp + i * W) << 8) + (lane << 2);   // each load: 512 (BF16: 256) contiguous bytes per warp
        if (BF16) {
            const uint16_t* xr = reinterpret_cast<const uint16_t*>(x) + m * K;
            uint2 a = make_uint2(0u, 0u), b = a;
            if (c < K) a = __ldg(reinterpret_cast<const uint2*>(xr + c));
            if (c + 128 < K) b = __ldg(reinterpret_cast<const uint2*>(xr + c + 128));
            bf16x4(a, &v[i][0]); bf16x4(b, &v[i][4]);
        } else {
            const float* xr = reinterpret_cast<const float*>(x) + m * K;
            float4 a = make_float4(0.f, 0.f, 0.f, 0.f), b = a;
            if (c < K) a = __ldg(reinterpret_cast<const float4*>(xr + c));
            if (c + 128 < K) b = __ldg(reinterpret_cast<const float4*>(xr + c + 128));
            v[i][0] = a.x; v[i][1] = a.y; v[i][2] = a.z; v[i][3] = a.w;
            v[i][4] = b.x; v[i][5] = b.y; v[i][6] = b.z; v[i][7] = b.w;
        }
    }
}

// one row per block. Measured dead ends on an H200 (docs/benchmarks/cudatq2.md): a row loop with the next row's loads in
// flight in registers, and a persistent grid streaming the next rows into shared memory by cp.async (2-4 stages):
// both slower, the kernel is bound by its instructions, not by memory latency
template <int SPW>
__device__ __forceinline__ void tq2_body(const void* __restrict__ x, int K, int Kpad, const float* __restrict__ smooth,
        const float* __restrict__ shift, int rot, int ln0, float rscale, int bits, int gs, int Gout, float clip,
        int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, const float* __restrict__ lrpart,
        int ks, int r, void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M, int xBf16) {
    __shared__ float red[32 * SPW];
    const long long m = blockIdx.x;
    float v[SPW][8];
    if (xBf16) tq2_load<SPW, true>(x, K, m, v);
    else tq2_load<SPW, false>(x, K, m, v);
    tq2_row<SPW>(K, Kpad, smooth, shift, rot, ln0, rscale, bits, gs, Gout, clip, qmin, qmax, codes, scales, lrpart,
                 ks, r, lr, lrDt, lrbias, M, m, v, red);
}

// x: F32 [M][K] or (xBf16 = 1) BF16 [M][K], widened exactly; grid M, block 32·ceil(segments / SPW)
#define TQ2_ARGS const void* __restrict__ x, int K, int Kpad, const float* __restrict__ smooth, \
        const float* __restrict__ shift, int rot, int ln0, float rscale, int bits, int gs, int Gout, float clip, \
        int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, const float* __restrict__ lrpart, \
        int ks, int r, void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M, int xBf16
#define TQ2_PASS x, K, Kpad, smooth, shift, rot, ln0, rscale, bits, gs, Gout, clip, qmin, qmax, codes, scales, lrpart, \
        ks, r, lr, lrDt, lrbias, M, xBf16
extern "C" __global__ void __launch_bounds__(1024, 2) k_tq2_s1(TQ2_ARGS) { tq2_body<1>(TQ2_PASS); }
extern "C" __global__ void __launch_bounds__(1024) k_tq2_s2(TQ2_ARGS) { tq2_body<2>(TQ2_PASS); }
extern "C" __global__ void __launch_bounds__(512, 2) k_tq2_s4(TQ2_ARGS) { tq2_body<4>(TQ2_PASS); }

// ---------------------------------------------------------------- transform + quantize, 16 columns per lane
// k_tq3_r{1,2}: the register path with about 40% fewer instructions per segment than k_tq2 for the plans it
// takes (regular Hadamard n0 = 4^k <= 256 or none; smoothing, shift; scales per token or per group of
// 16..256 columns; INT4 or INT8 codes; the low-rank sums). Lane l of a warp holds 16 contiguous columns
// 256·seg + 16·(l & 15) + e of segment seg = 2·round + (l >> 4): the radix-4 stages on index bits 0-3 are
// butterflies in registers; for bits 4-7 the half-warp transposes its 16 x 16 block through shared memory
// (lane l then holds columns 16·t + (l & 15), t = 0..15), runs those stages in registers and transposes
// back. Stages in the canonical order of numerics/Hadamard with the reference butterfly, so the rotated
// values, scales and codes are bit-identical to k_tq2 and the host. W warps per row (R rounds of two
// segments each, W = ceil(rounds / R)); per-token absmax: shuffles, plus one barrier when W > 1. Codes: with
// clip >= 1 two fused multiply-adds per value (tq3_codes4_nc), else tq2_codes4's clamped arithmetic; the exact
// division near half-integers. Measured on an NVIDIA H200 (docs/benchmarks/tq4.md): at M = 4096 about 15-25% faster
// than the session-3 k_tq3 with BF16 x; still bound by latency and instruction issue (~40% of copy bandwidth), not
// by memory bandwidth. Dead ends measured there: a persistent grid with the next row's x in registers (100-128
// registers) or staged by cp.async in a per-warp shared-memory ring (barrier and MIO stalls): both slower.
constexpr int TQ3_TP = 20;          // floats per transposed row: 16 + 4 keeps both access patterns conflict-free
constexpr int TQ3_HALF = 16 * TQ3_TP + 16;   // a half-warp's block; +16 moves the second half to the other banks

// The rare and the optional per-element work out of line: k_tq3 is unrolled over its rounds, and inlined
// divisions made it several times larger than the instruction cache (and slower than k_tq2)
__device__ __noinline__ uint32_t tq3_codes4_exact(float a, float b, float c, float d, float pre, float s, int qmin, int qmax) {
    return ((uint32_t)int_code(a * pre, s, 0, qmin, qmax) & 0xFFu) | (((uint32_t)int_code(b * pre, s, 0, qmin, qmax) & 0xFFu) << 8)
         | (((uint32_t)int_code(c * pre, s, 0, qmin, qmax) & 0xFFu) << 16) | ((uint32_t)int_code(d * pre, s, 0, qmin, qmax) << 24);
}
__device__ __noinline__ float4 tq3_smooth4(float4 v, const float* __restrict__ smooth, const float* __restrict__ shift, int c) {
    if (smooth) {
        const float4 d = __ldg(reinterpret_cast<const float4*>(smooth + c));
        v.x = __fdiv_rn(v.x, d.x); v.y = __fdiv_rn(v.y, d.y); v.z = __fdiv_rn(v.z, d.z); v.w = __fdiv_rn(v.w, d.w);
    }
    if (shift) {
        const float4 h = __ldg(reinterpret_cast<const float4*>(shift + c));
        v.x = __fadd_rn(v.x, h.x); v.y = __fadd_rn(v.y, h.y); v.z = __fadd_rn(v.z, h.z); v.w = __fadd_rn(v.w, h.w);
    }
    return v;
}
// tq2_codes4<true> (clamped: valid for every clip ratio) with the exact path out of line; byte e of the
// result's word e is the code
__device__ __forceinline__ void tq3_codes4(const float* v, float pre, float s, float inv, float tol, int qmin, int qmax, uint32_t* t) {
    bool bad = false;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        float qa = __fmul_rn(v[e], inv);
        float qc = fminf(fmaxf(qa, (float)qmin), (float)qmax);
        float tm = __fadd_rn(qc, TQ2_MAGIC);
        float d = __fsub_rn(qa, __fsub_rn(tm, TQ2_MAGIC));
        bad |= !(fabsf(__fsub_rn(fabsf(d), 0.5f)) > tol);
        t[e] = __float_as_uint(tm);
    }
    if (bad) {
        const uint32_t w = tq3_codes4_exact(v[0], v[1], v[2], v[3], pre, s, qmin, qmax);
        t[0] = w; t[1] = w >> 8; t[2] = w >> 16; t[3] = w >> 24;
    }
}

__device__ __forceinline__ void tq3_radix4_lo(float (&v)[16], int ln0) {
    // index bits 0, 1 then 2, 3 of the 16 registers (the reference stage order)
    if (ln0 >= 2) {
#pragma unroll
        for (int q = 0; q < 4; q++) bfly4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
    }
    if (ln0 >= 4) {
#pragma unroll
        for (int e = 0; e < 4; e++) bfly4(v[e], v[e + 4], v[e + 8], v[e + 12]);
    }
}

// v (16 contiguous columns of this lane) <-> u[t] = column 16·t + (lane & 15) of the half-warp's block
template <bool TO_COLUMNS>
__device__ __forceinline__ void tq3_transpose(float (&v)[16], float* buf, int lane) {
    const int i = lane & 15;
    float* b = buf + (lane >> 4) * TQ3_HALF;
    if (TO_COLUMNS) {
#pragma unroll
        for (int q = 0; q < 4; q++)
            *reinterpret_cast<float4*>(b + i * TQ3_TP + 4 * q) = make_float4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
        __syncwarp();
#pragma unroll
        for (int t = 0; t < 16; t++) v[t] = b[t * TQ3_TP + i];
    } else {
#pragma unroll
        for (int t = 0; t < 16; t++) b[t * TQ3_TP + i] = v[t];
        __syncwarp();
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float4 f = *reinterpret_cast<const float4*>(b + i * TQ3_TP + 4 * q);
            v[4 * q] = f.x; v[4 * q + 1] = f.y; v[4 * q + 2] = f.z; v[4 * q + 3] = f.w;
        }
    }
    __syncwarp();   // the buffer is free for the next round
}

// codes of 4 values v·pre with scale s when no code can leave [qmin, qmax] (clip >= 1: |v·pre| <= absmax, so
// |q| <= qmax·(1 + 2^-22)): rint of the exact product v·inv by one fused multiply-add onto the 1.5·2^23 constant, its
// distance d to that integer by a second one (|d| <= 0.5, rounded once). inv = pre·rcp(s) is within 2^-24 relative of
// pre/s, so the exact product is within 2^-23·|q| of x_t/s as the reference divides it: where |d| < lim = 0.5 - tol
// (tol as tq2_row) both round to the same integer; elsewhere (and for NaN) the exact division. 4 instructions per value
// instead of the clamped path's 8. (One test per 16 values instead of per 4 measured 10-20% slower on an H200.)
__device__ __forceinline__ void tq3_codes4_nc(const float* v, float pre, float s, float inv, float lim, int qmin, int qmax, uint32_t* t) {
    bool bad = false;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        const float tm = __fmaf_rn(v[e], inv, TQ2_MAGIC);
        const float d = __fmaf_rn(v[e], inv, -__fsub_rn(tm, TQ2_MAGIC));
        bad |= !(fabsf(d) < lim);
        t[e] = __float_as_uint(tm);
    }
    if (bad) {
        const uint32_t w = tq3_codes4_exact(v[0], v[1], v[2], v[3], pre, s, qmin, qmax);
        t[0] = w; t[1] = w >> 8; t[2] = w >> 16; t[3] = w >> 24;
    }
}

// raw x of this warp's columns of row m into v (zero beyond K and for rows past M). BF16 rows with K % 8 == 0: a lane's 16
// columns by two 16-byte loads from one address (measured faster than four 8-byte loads); F32: four 16-byte loads
// with their own bounds (one base address measured slower)
template <int R, bool BF16>
__device__ __forceinline__ void tq3_load(const void* __restrict__ x, int K, long long m, bool live, int wr, int lane,
        float (&v)[R][16]) {
#pragma unroll
    for (int j = 0; j < R; j++) {
        const int c0 = ((2 * (wr * R + j) + (lane >> 4)) << 8) + ((lane & 15) << 4);
        if (BF16 && (K & 7) == 0 && live && c0 + 16 <= K) {
            const uint4* p = reinterpret_cast<const uint4*>(reinterpret_cast<const uint16_t*>(x) + m * K + c0);
            const uint4 a = __ldg(p), b = __ldg(p + 1);
            bf16x4(make_uint2(a.x, a.y), &v[j][0]); bf16x4(make_uint2(a.z, a.w), &v[j][4]);
            bf16x4(make_uint2(b.x, b.y), &v[j][8]); bf16x4(make_uint2(b.z, b.w), &v[j][12]);
        } else {
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const int c = c0 + 4 * q;
                if (BF16) {
                    uint2 a = make_uint2(0u, 0u);
                    if (live && c < K) a = __ldg(reinterpret_cast<const uint2*>(reinterpret_cast<const uint16_t*>(x) + m * K + c));
                    bf16x4(a, &v[j][4 * q]);
                } else {
                    float4 a = make_float4(0.f, 0.f, 0.f, 0.f);
                    if (live && c < K) a = __ldg(reinterpret_cast<const float4*>(reinterpret_cast<const float*>(x) + m * K + c));
                    v[j][4 * q] = a.x; v[j][4 * q + 1] = a.y; v[j][4 * q + 2] = a.z; v[j][4 * q + 3] = a.w;
                }
            }
        }
    }
}

// one row per W warps, P = blockDim.x / (32·W) rows per block, one row group per block. BF16: x is BF16 (compile time:
// each kernel runs one of two bodies). CLAMP: clip < 1 (codes may leave [qmin, qmax]).
template <int R, bool BF16, bool CLAMP>
__device__ __forceinline__ void tq3_body(const void* __restrict__ x, int K, int Kpad, const float* __restrict__ smooth,
        const float* __restrict__ shift, int rot, int ln0, float rscale, int bits, int gs, int Gout, float clip,
        int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, const float* __restrict__ lrpart,
        int ks, int r, void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M, int W,
        int tiled, float* tbuf, float* red) {
    // rows per block P = 4 / W for W = 1, 2, else 1 (as the launchers): shifts, not integer divisions
    const int nw = blockDim.x >> 5;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rowInBlock = nw == W ? 0 : W == 1 ? warp : W == 2 ? warp >> 1 : warp / W, wr = warp - rowInBlock * W;
    const long long m = (long long)blockIdx.x * (nw == W ? 1 : W == 1 ? nw : W == 2 ? nw >> 1 : nw / W) + rowInBlock;
    const bool live = m < M;
    float* buf = tbuf + warp * (2 * TQ3_HALF);
    // 1. loads: all of this warp's columns in flight at once
    float v[R][16];
    tq3_load<R, BF16>(x, K, live ? m : 0, live, wr, lane, v);
    // 2. smooth, shift; rotation; absmax of the lane
    float am[R];
#pragma unroll
    for (int j = 0; j < R; j++) {
        const int c0 = ((2 * (wr * R + j) + (lane >> 4)) << 8) + ((lane & 15) << 4);
        if (smooth != nullptr || shift != nullptr) {
#pragma unroll
            for (int q = 0; q < 4; q++) {
                if (c0 + 4 * q < K) {
                    float* p = &v[j][4 * q];
                    const float4 o = tq3_smooth4(make_float4(p[0], p[1], p[2], p[3]), smooth, shift, c0 + 4 * q);
                    p[0] = o.x; p[1] = o.y; p[2] = o.z; p[3] = o.w;
                }
            }
        }
        if (rot == 1) {
            tq3_radix4_lo(v[j], ln0);
            if (ln0 >= 6) {
                tq3_transpose<true>(v[j], buf, lane);
                // index bits 4, 5 then 6, 7: bits 0-3 of t
#pragma unroll
                for (int q = 0; q < 4; q++) bfly4(v[j][4 * q], v[j][4 * q + 1], v[j][4 * q + 2], v[j][4 * q + 3]);
                if (ln0 >= 8) {
#pragma unroll
                    for (int e = 0; e < 4; e++) bfly4(v[j][e], v[j][e + 4], v[j][e + 8], v[j][e + 12]);
                }
                tq3_transpose<false>(v[j], buf, lane);
            }
        }
        float a = 0.0f;
#pragma unroll
        for (int e = 0; e < 16; e++) a = fmaxf(a, fabsf(v[j][e]));
        am[j] = a;
    }
    // 3. absmax per scale group, scale, codes
    const bool token = gs >= Kpad;
    if (token) {
        float a = 0.0f;
#pragma unroll
        for (int j = 0; j < R; j++) a = fmaxf(a, am[j]);
        a = warp_max(a);
        if (W > 1) {
            if (lane == 0) red[warp] = a;
            __syncthreads();
            a = 0.0f;
            for (int w = 0; w < W; w++) a = fmaxf(a, red[rowInBlock * W + w]);
        }
#pragma unroll
        for (int j = 0; j < R; j++) am[j] = a;
    } else {
        const int lpg = gs >> 4;   // lanes per group (gs in 16..256, a power of two)
#pragma unroll
        for (int j = 0; j < R; j++)
            for (int o = 1; o < lpg; o <<= 1) am[j] = fmaxf(am[j], __shfl_xor_sync(0xffffffffu, am[j], o));
    }
    if (!live) return;
    const int lgs = __ffs(gs) - 1;
    const float tolq = 9.5367431640625e-07f * (float)(qmax - qmin);   // as tq2_row
    const float pre = rot == 1 ? rscale : 1.0f;
    float s = 0.0f, inv = 0.0f, tol = 0.0f;
#pragma unroll
    for (int j = 0; j < R; j++) {
        const int c0 = ((2 * (wr * R + j) + (lane >> 4)) << 8) + ((lane & 15) << 4);
        if (j == 0 || !token) {
            const float a = am[j] * pre;
            s = __fdiv_rn(__fmul_rn(a, clip), (float)qmax);
            const float rc = s == 0.0f ? 0.0f : __frcp_rn(s);
            inv = rc * pre;
            tol = isfinite(rc) && (s == 0.0f || (a >= 1e-30f && inv >= 1e-30f)) ? tolq : INFINITY;
        }
        if (token) {
            if (wr == 0 && j == 0)
                for (int g = lane; g < Gout; g += 32) scales[m * Gout + g] = s;
        } else if ((c0 & (gs - 1)) == 0 && c0 < Kpad && (c0 >> lgs) < Gout) {
            scales[m * Gout + (c0 >> lgs)] = s;
        }
        if (c0 >= Kpad) continue;
        uint32_t t[16];
        if (CLAMP) {
#pragma unroll
            for (int q = 0; q < 4; q++) tq3_codes4(&v[j][4 * q], pre, s, inv, tol, qmin, qmax, &t[4 * q]);
        } else {
#pragma unroll
            for (int q = 0; q < 4; q++) tq3_codes4_nc(&v[j][4 * q], pre, s, inv, 0.5f - tol, qmin, qmax, &t[4 * q]);
        }
        if (bits == 4) {
            uint32_t w[2];
#pragma unroll
            for (int h = 0; h < 2; h++) {
                uint32_t p[2];
#pragma unroll
                for (int q = 0; q < 2; q++) {
                    const uint32_t* u = &t[8 * h + 4 * q];
                    uint32_t ev = __byte_perm(u[0], u[2], 0x0040), od = __byte_perm(u[1], u[3], 0x0040);
                    p[q] = (ev & 0x0F0Fu) | ((od << 4) & 0xF0F0u);
                }
                w[h] = p[0] | (p[1] << 16);
            }
            *reinterpret_cast<uint2*>(codes + m * (Kpad / 2) + (c0 >> 1)) = make_uint2(w[0], w[1]);
        } else {
            uint32_t w[4];
#pragma unroll
            for (int q = 0; q < 4; q++)
                w[q] = __byte_perm(__byte_perm(t[4 * q], t[4 * q + 1], 0x0040), __byte_perm(t[4 * q + 2], t[4 * q + 3], 0x0040), 0x5410);
            long long off = m * Kpad + c0;
            if (tiled) {   // k_wgmma_i8_t's A: [M/128][Kpad/64][128][64] bytes, 16-byte chunk c of row r at c ^ ((r >> 1) & 3)
                const int rr = (int)(m & 127);
                off = ((m >> 7) * (Kpad >> 6) + (c0 >> 6)) * 8192 + rr * 64 + ((((c0 >> 4) & 3) ^ ((rr >> 1) & 3)) << 4);
            }
            *reinterpret_cast<uint4*>(codes + off) = make_uint4(w[0], w[1], w[2], w[3]);
        }
    }
    // 4. the low-rank partial sums of this row
    if (lrpart != nullptr && wr == W - 1) tq_lowrank_row(lrpart, ks, r, lr, lrDt, lrbias, M, m, lane);
}

// x: F32 [M][K] or (xBf16 = 1) BF16 [M][K]. W = ceil(ceil(segments / 2) / R) warps per row (at most 16), rows per
// block P = 4 / W when W divides 4, else 1; block 32·W·P threads, grid ceil(M / P), dynamic shared memory
// (block warps)·2·TQ3_HALF floats for the transposes. The arguments of k_tq2 plus W, plus tiled (1 with bits = 8:
// the codes in the tiled layout of k_wgmma_i8_t's A, ceil(M/128)·128·Kpad bytes; rows past M are not written).
// k_tq3_r{1,2}: clip >= 1 (no code can leave [qmin, qmax]); k_tq3_r{1,2}c: clip < 1, the clamped codes (their own
// kernels: the clamped path needs more registers, and a kernel's register count is that of its largest body).
// R = 2 at most 80 registers: at 82 a block of 12 warps (K = 12288) no longer fits twice on an SM.
#define TQ3_ARGS TQ2_ARGS, int W, int tiled
#define TQ3_BODY(R, C) \
    extern __shared__ __align__(16) float tq3buf[]; \
    __shared__ float red[32]; \
    if (xBf16) tq3_body<R, true, C>(x, K, Kpad, smooth, shift, rot, ln0, rscale, bits, gs, Gout, clip, qmin, qmax, codes, \
                                    scales, lrpart, ks, r, lr, lrDt, lrbias, M, W, tiled, tq3buf, red); \
    else tq3_body<R, false, C>(x, K, Kpad, smooth, shift, rot, ln0, rscale, bits, gs, Gout, clip, qmin, qmax, codes, \
                               scales, lrpart, ks, r, lr, lrDt, lrbias, M, W, tiled, tq3buf, red);
extern "C" __global__ void __launch_bounds__(512) k_tq3_r1(TQ3_ARGS) { TQ3_BODY(1, false) }
extern "C" __global__ void __maxnreg__(80) k_tq3_r2(TQ3_ARGS) { TQ3_BODY(2, false) }
extern "C" __global__ void __launch_bounds__(512) k_tq3_r1c(TQ3_ARGS) { TQ3_BODY(1, true) }
extern "C" __global__ void __maxnreg__(80) k_tq3_r2c(TQ3_ARGS) { TQ3_BODY(2, true) }

// ---------------------------------------------------------------- transform + quantize, the ConvRot plan, 32 columns per lane
// k_tq3h: k_tq3 specialised to the plan of W8A8 / W4A4 ConvRot (regular Hadamard n0 = 256, per-token scales, no smoothing,
// shift or low-rank branch, clip >= 1, K % 8 == 0; FusedLinear.tq3hWarps), with fewer instructions per value. Lane l
// of warp wr holds 32 columns of segment seg = 4·wr + (l >> 3): 256·seg + 16·L + 128·h + e (L = l & 7, h = 0, 1,
// e = 0..15) as v[16h + e]: the radix-4 stages on index bits 0-3 run in registers; for bits 4-7 each group of 8 lanes
// transposes its segment through shared memory (lane L then holds the column pairs 16·t + 2L + b, t = 0..15, as
// v[2t + b]), runs those stages in registers and transposes back: 1.5 shared-memory accesses per value instead of
// k_tq3's 2.5. (Lane-contiguous 128-byte rows measured slower with F32 x: each 16-byte load touched 32 lines.) Same stage
// order and butterfly as numerics/Hadamard, scale and codes as k_tq3_r2 (bit-identical). One warp per 1024 columns,
// W = ceil(Kpad / 1024) <= 16 warps per row, rows per block as k_tq3. Values near a half-integer are flagged per 8 and
// redone after the store by the IEEE division, one flagged group at a time (no call on the hot path). Measured on an H200
// (docs/benchmarks/tq5.md): 10-20% faster than k_tq3 from M·Kpad = 4096·3072 on, slower for small M and where lanes idle
// (Kpad % 1024 != 0): FusedLinear launches it only where it pays.
constexpr int TQH_ROW = 36;                   // floats per 32 columns: + 4 puts the 16-byte accesses of 8 lanes on distinct banks
constexpr int TQH_SEG = 8 * TQH_ROW + 16;     // a segment (8 lanes); +16: the next segment on the other 16 banks
constexpr int TQH_WARP = 4 * TQH_SEG;         // floats per warp (dynamic shared memory: block warps · TQH_WARP · 4 bytes)

// raw x of the lane's chunk h (columns c..c+15) into v[16h..16h+15], zero past K (K % 8 == 0)
template <bool BF16>
__device__ __forceinline__ void tqh_load(const void* __restrict__ x, int K, long long m, bool live, int c, float* v) {
    if (BF16) {
        const uint4* p = reinterpret_cast<const uint4*>(reinterpret_cast<const uint16_t*>(x) + m * K + c);
#pragma unroll
        for (int q = 0; q < 2; q++) {
            uint4 a = make_uint4(0u, 0u, 0u, 0u);
            if (live && c + 8 * q < K) a = __ldg(p + q);
            bf16x4(make_uint2(a.x, a.y), &v[8 * q]); bf16x4(make_uint2(a.z, a.w), &v[8 * q + 4]);
        }
    } else {
        const float4* p = reinterpret_cast<const float4*>(reinterpret_cast<const float*>(x) + m * K + c);
#pragma unroll
        for (int q = 0; q < 4; q++) {
            float4 a = make_float4(0.f, 0.f, 0.f, 0.f);
            if (live && c + 4 * q < K) a = __ldg(p + q);
            v[4 * q] = a.x; v[4 * q + 1] = a.y; v[4 * q + 2] = a.z; v[4 * q + 3] = a.w;
        }
    }
}

// byte offset of the INT8 code of column c (a multiple of 16) of row m: row-major, or k_wgmma_i8_t's tiled A (see tq3_body)
__device__ __forceinline__ long long tqh_off8(long long m, int c, int Kpad, int tiled) {
    if (!tiled) return m * Kpad + c;
    const int rr = (int)(m & 127);
    return ((m >> 7) * (Kpad >> 6) + (c >> 6)) * 8192 + rr * 64 + ((((c >> 4) & 3) ^ ((rr >> 1) & 3)) << 4);
}

// programmatic dependent launch: the grid launched after this one (the GEMM) may be launched now and run its prologue;
// it waits for this grid's completion before it reads the codes (griddepcontrol.wait). No effect on a plain launch
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// k_tq3h launched as a programmatic dependent of the kernel before it (whatever wrote x, or last read the buffers this
// one writes): wait until that grid has completed and its writes are visible, before any load or store. So the launch
// and the blocks' start overlap the previous kernel's tail (its last wave), and nothing else does. No-op after a plain
// launch. (Not k_tq3p: its persistent grid counts on B blocks per SM, and blocks launched early land wherever the
// previous kernel frees a slot first: measured 1.1 µs slower at 4096 x 3072 on an H100, k_tq3h 1.4 µs faster.)
__device__ __forceinline__ void wait_for_previous_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// the Hadamard 256 of the lane's 32 values (v as loaded: columns c0 + 128h + e in v[16h + e]) through the segment's
// transpose buffer; v holds the rotated values in the same order afterwards, and `mine` (this lane's chunks in the
// buffer) keeps them until the buffer's next use. Returns the lane's absmax
__device__ __forceinline__ float tqh_rotate(float* v, float* seg, float* mine, int L) {
    // index bits 0, 1 then 2, 3 (the reference stage order)
#pragma unroll
    for (int q = 0; q < 8; q++) bfly4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
#pragma unroll
    for (int h = 0; h < 2; h++)
#pragma unroll
        for (int e = 0; e < 4; e++) bfly4(v[16 * h + e], v[16 * h + e + 4], v[16 * h + e + 8], v[16 * h + e + 12]);
    // the segment row-major, 36 floats per 32 columns: chunk h of lane L at (L / 2 + 4h)·36 + 16·(L & 1)
#pragma unroll
    for (int q = 0; q < 8; q++)
        *reinterpret_cast<float4*>(mine + (q >> 2) * 4 * TQH_ROW + 4 * (q & 3)) = make_float4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
    __syncwarp();
#pragma unroll
    for (int t = 0; t < 16; t++) {   // column 16t + 2L + b: at (t / 2)·36 + 16·(t & 1) + 2L
        const float2 f = *reinterpret_cast<const float2*>(seg + (t >> 1) * TQH_ROW + 16 * (t & 1) + 2 * L);
        v[2 * t] = f.x; v[2 * t + 1] = f.y;
    }
    // index bits 4, 5 (bits 0, 1 of t) then 6, 7 (bits 2, 3 of t)
#pragma unroll
    for (int t = 0; t < 16; t += 4)
#pragma unroll
        for (int b = 0; b < 2; b++) bfly4(v[2 * t + b], v[2 * t + 2 + b], v[2 * t + 4 + b], v[2 * t + 6 + b]);
#pragma unroll
    for (int t = 0; t < 4; t++)
#pragma unroll
        for (int b = 0; b < 2; b++) bfly4(v[2 * t + b], v[2 * t + 8 + b], v[2 * t + 16 + b], v[2 * t + 24 + b]);
    float a = 0.0f;
#pragma unroll
    for (int e = 0; e < 32; e++) a = fmaxf(a, fabsf(v[e]));
    // back: each lane writes exactly the words it read, so no barrier before
#pragma unroll
    for (int t = 0; t < 16; t++)
        *reinterpret_cast<float2*>(seg + (t >> 1) * TQH_ROW + 16 * (t & 1) + 2 * L) = make_float2(v[2 * t], v[2 * t + 1]);
    a = warp_max(a);
    __syncwarp();
#pragma unroll
    for (int q = 0; q < 8; q++) {
        const float4 f = *reinterpret_cast<const float4*>(mine + (q >> 2) * 4 * TQH_ROW + 4 * (q & 3));
        v[4 * q] = f.x; v[4 * q + 1] = f.y; v[4 * q + 2] = f.z; v[4 * q + 3] = f.w;
    }
    return a;
}

// the scale of row m from its absmax a and the lane's codes (rotated values v, also in `mine`) stored at columns
// c0 + 128h + e. Codes as tq3_codes4_nc, with tol = 2^-21·(qmax + 1): v·inv = (x_t/s)(1 + δ), |δ| <= 2^-24, and
// |x_t/s| <= qmax(1 + 2^-23) (clip >= 1), so v·inv and the rounded quotient differ by at most 2^-23·qmax; d's own
// rounding adds 2^-25: together a quarter of tol. Outside 0.5 ± tol both round to the same integer; values within are
// flagged per 8 and redone after the store by the IEEE division (from `mine`), one flagged group at a time
__device__ __forceinline__ void tqh_quantize(const float* v, const float* mine, float a, long long m, int c0, bool first,
        int Kpad, float rscale, int bits, int Gout, float clip, int qmin, int qmax, uint8_t* __restrict__ codes,
        float* __restrict__ scales, int tiled) {
    const float pre = rscale, am = a * pre;
    const float s = __fdiv_rn(__fmul_rn(am, clip), (float)qmax);
    const float rc = s == 0.0f ? 0.0f : __frcp_rn(s);
    const float inv = rc * pre;
    const float lim = isfinite(rc) && (s == 0.0f || (am >= 1e-30f && inv >= 1e-30f))
            ? 0.5f - 4.76837158203125e-07f * (float)(qmax + 1) : -1.0f;
    if (first)
        for (int g = 0; g < Gout; g++) scales[m * Gout + g] = s;
    if (c0 >= Kpad) return;   // Kpad is a multiple of 256: both chunks are in or out
    // INT8: chunk h at off8 + h·step8 (tiled: c0 and c0 + 128 are two 64-column tiles apart, same swizzle)
    const long long off8 = tqh_off8(m, c0, Kpad, tiled);
    const int step8 = tiled ? 2 * 8192 : 128;
    uint32_t t[32];
    bool bad[4] = {false, false, false, false};
#pragma unroll
    for (int e = 0; e < 32; e++) {
        const float tm = __fmaf_rn(v[e], inv, TQ2_MAGIC);
        const float d = __fmaf_rn(v[e], inv, -__fsub_rn(tm, TQ2_MAGIC));
        bad[e >> 3] |= !(fabsf(d) < lim);
        t[e] = __float_as_uint(tm);
    }
    if (bits == 4) {
        uint32_t w[4];
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const uint32_t* u = &t[8 * q];
            const uint32_t ev = __byte_perm(__byte_perm(u[0], u[2], 0x0040), __byte_perm(u[4], u[6], 0x0040), 0x5410);
            const uint32_t od = __byte_perm(__byte_perm(u[1], u[3], 0x0040), __byte_perm(u[5], u[7], 0x0040), 0x5410);
            w[q] = (ev & 0x0F0F0F0Fu) | ((od << 4) & 0xF0F0F0F0u);
        }
        uint8_t* row = codes + m * (Kpad >> 1);
        *reinterpret_cast<uint2*>(row + (c0 >> 1)) = make_uint2(w[0], w[1]);
        *reinterpret_cast<uint2*>(row + ((c0 + 128) >> 1)) = make_uint2(w[2], w[3]);
    } else {
        uint32_t w[8];
#pragma unroll
        for (int q = 0; q < 8; q++)
            w[q] = __byte_perm(__byte_perm(t[4 * q], t[4 * q + 1], 0x0040), __byte_perm(t[4 * q + 2], t[4 * q + 3], 0x0040), 0x5410);
        *reinterpret_cast<uint4*>(codes + off8) = make_uint4(w[0], w[1], w[2], w[3]);
        *reinterpret_cast<uint4*>(codes + off8 + step8) = make_uint4(w[4], w[5], w[6], w[7]);
    }
    const uint32_t flags = (bad[0] ? 1u : 0u) | (bad[1] ? 2u : 0u) | (bad[2] ? 4u : 0u) | (bad[3] ? 8u : 0u);
    if (flags == 0) return;
    // rare: the values of the flagged groups again from shared memory (this lane's chunks), the exact division near a
    // half-integer; only the flagged groups are visited (a warp with a flagged lane waits for it)
#pragma unroll 1
    for (uint32_t f = flags; f != 0; f &= f - 1)
#pragma unroll 1
    for (int e = 8 * (__ffs(f) - 1), end = e + 8; e < end; e++) {
        const float val = mine[(e >> 4) * 4 * TQH_ROW + (e & 15)];
        const float tm = __fmaf_rn(val, inv, TQ2_MAGIC);
        if (fabsf(__fmaf_rn(val, inv, -__fsub_rn(tm, TQ2_MAGIC))) < lim) continue;
        const int q = int_code(val * pre, s, 0, qmin, qmax);
        const int c = c0 + 128 * (e >> 4) + (e & 15);
        if (bits == 4) {
            uint8_t* p = codes + m * (Kpad >> 1) + (c >> 1);
            const int sh = 4 * (c & 1);
            *p = (uint8_t)((*p & ~(0xF << sh)) | ((q & 0xF) << sh));
        } else {
            codes[off8 + (e >> 4) * step8 + (e & 15)] = (uint8_t)q;
        }
    }
}

template <bool BF16, bool ASYNC>
__device__ __forceinline__ void tqh_body(const void* __restrict__ x, int K, int Kpad, float rscale, int bits, int Gout,
        float clip, int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, int M, int W, int tiled,
        float* tbuf, float* red) {
    allow_dependent_launch();
    wait_for_previous_grid();
    const int nw = blockDim.x >> 5, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rowInBlock = nw == W ? 0 : W == 1 ? warp : warp >> 1, wr = warp - rowInBlock * W;   // P = 4 / W or 1
    const long long m = (long long)blockIdx.x * (nw == W ? 1 : W == 1 ? nw : nw >> 1) + rowInBlock;
    const bool live = m < M;
    const int L = lane & 7, c0 = ((4 * wr + (lane >> 3)) << 8) + (L << 4);   // chunk h: columns c0 + 128h + e
    float* seg = tbuf + warp * TQH_WARP + (lane >> 3) * TQH_SEG;
    float* mine = seg + (L >> 1) * TQH_ROW + 16 * (L & 1);   // chunk h at mine + 4h·36 (see below)
    float v[32];
    if (!BF16 && ASYNC) {   // F32 x by cp.async, 512 contiguous bytes per instruction, into the layout below, then own
        // chunks: 10% faster than the direct 64-byte-per-lane loads (L1 and MIO bound) at M = 4096
        const float* xr = reinterpret_cast<const float*>(x) + (live ? m : 0) * K + (wr << 10);
        float* wbuf = tbuf + warp * TQH_WARP;
#pragma unroll
        for (int q = 0; q < 8; q++) {
            const int col = 4 * (lane + 32 * q);
            cp_async16(smem_u32(wbuf + (col >> 8) * TQH_SEG + ((col & 255) >> 5) * TQH_ROW + (col & 31)), xr + col,
                       live && (wr << 10) + col < K);
        }
        cp_commit();
        cp_wait<0>();
        __syncwarp();
#pragma unroll
        for (int q = 0; q < 8; q++) {
            const float4 f = *reinterpret_cast<const float4*>(mine + (q >> 2) * 4 * TQH_ROW + 4 * (q & 3));
            v[4 * q] = f.x; v[4 * q + 1] = f.y; v[4 * q + 2] = f.z; v[4 * q + 3] = f.w;
        }
    } else {
        tqh_load<BF16>(x, K, live ? m : 0, live, c0, &v[0]);
        tqh_load<BF16>(x, K, live ? m : 0, live, c0 + 128, &v[16]);
    }
    float a = tqh_rotate(v, seg, mine, L);
    if (W > 1) {
        if (lane == 0) red[warp] = a;
        __syncthreads();
        a = 0.0f;
        for (int w = 0; w < W; w++) a = fmaxf(a, red[rowInBlock * W + w]);
    }
    if (!live) return;
    tqh_quantize(v, mine, a, m, c0, wr == 0 && c0 == 0, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, tiled);
}

// ---- k_tq3p: k_tq3h persistent. A block of W warps (one row) loops over rows m = blockIdx.x + i·gridDim.x; each warp
// stages the next row's 1024 columns of raw x by cp.async while it rotates and quantizes this one, so the loads overlap
// the arithmetic, and the host sizes the grid so that the resident blocks get equal numbers of rows
// (FusedLinear.tqpBlocksPerSm).
// Staging: 1024 columns per warp in 16-byte units, 16 bytes of padding after every 8 (unit u at u + u / 8), so that both
// the cp.async writes (32 consecutive units) and the lanes' chunk reads (8 lanes 4 (F32) or 2 (BF16) units apart) are
// conflict-free; every address is a per-lane base plus a constant
constexpr int TQP_RAW_F32 = 1152, TQP_RAW_BF16 = 576;   // floats of staging per warp: 256 or 128 units + padding

template <bool BF16>
__device__ __forceinline__ void tqp_stage(const void* __restrict__ x, int K, long long m, int wr, int lane, float* raw) {
    constexpr int UNITS = BF16 ? 4 : 8, PER = BF16 ? 8 : 4;   // 16-byte units per lane, columns per unit
    const char* xr = reinterpret_cast<const char*>(x) + (m * K + (wr << 10)) * (BF16 ? 2 : 4) + 16 * lane;
    float* dst = raw + 4 * (lane + (lane >> 3));   // unit lane + 32q at lane + lane / 8 + 36q
#pragma unroll
    for (int q = 0; q < UNITS; q++)
        cp_async16(smem_u32(dst + 4 * 36 * q), xr + 512 * q, (wr << 10) + PER * (lane + 32 * q) < K);
    cp_commit();
}

template <bool BF16>
__device__ __forceinline__ void tqp_body(const void* __restrict__ x, int K, int Kpad, float rscale, int bits, int Gout,
        float clip, int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, int M, int tiled,
        float* tbuf) {
    __shared__ float red[2][16];
    allow_dependent_launch();
    const int W = blockDim.x >> 5, lane = threadIdx.x & 31, wr = threadIdx.x >> 5;
    const int L = lane & 7, sl = lane >> 3, c0 = ((4 * wr + sl) << 8) + (L << 4);   // chunk h: columns c0 + 128h + e
    float* seg = tbuf + wr * TQH_WARP + sl * TQH_SEG;
    float* mine = seg + (L >> 1) * TQH_ROW + 16 * (L & 1);
    float* raw = tbuf + W * TQH_WARP + wr * (BF16 ? TQP_RAW_BF16 : TQP_RAW_F32);
    const float* mineRaw = raw + 4 * (BF16 ? 36 * sl + 2 * L + (L >> 2) : 72 * sl + 4 * L + (L >> 1));
    long long m = blockIdx.x;
    if (m < M) tqp_stage<BF16>(x, K, m, wr, lane, raw);
    for (int it = 0; m < M; m += gridDim.x, it ^= 1) {
        float v[32];
        cp_wait<0>();
        __syncwarp();
        if (BF16) {   // chunk h, half q: unit 32·sl + 2L + 16h + q, at 36·sl + 2L + L / 4 + 18h + q
#pragma unroll
            for (int h = 0; h < 2; h++)
#pragma unroll
                for (int q = 0; q < 2; q++) {
                    const uint4 a = *reinterpret_cast<const uint4*>(mineRaw + 4 * (18 * h + q));
                    bf16x4(make_uint2(a.x, a.y), &v[16 * h + 8 * q]); bf16x4(make_uint2(a.z, a.w), &v[16 * h + 8 * q + 4]);
                }
        } else {      // chunk h, quarter q: unit 64·sl + 4L + 32h + q, at 72·sl + 4L + L / 2 + 36h + q
#pragma unroll
            for (int h = 0; h < 2; h++)
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    const float4 f = *reinterpret_cast<const float4*>(mineRaw + 4 * (36 * h + q));
                    v[16 * h + 4 * q] = f.x; v[16 * h + 4 * q + 1] = f.y; v[16 * h + 4 * q + 2] = f.z; v[16 * h + 4 * q + 3] = f.w;
                }
        }
        __syncwarp();   // every lane has read the staging before the next row's copies land in it
        if (m + gridDim.x < M) tqp_stage<BF16>(x, K, m + gridDim.x, wr, lane, raw);
        float a = tqh_rotate(v, seg, mine, L);
        if (W > 1) {   // red alternates: a warp can be at most one barrier ahead of the others
            if (lane == 0) red[it][wr] = a;
            __syncthreads();
            a = 0.0f;
            for (int w = 0; w < W; w++) a = fmaxf(a, red[it][w]);
        }
        tqh_quantize(v, mine, a, m, c0, wr == 0 && c0 == 0, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, tiled);
        __syncwarp();   // the rare path's reads of `mine` before the next row's transposes
    }
}

// k_tq3p: BF16 x only (xBf16 must be 1; with F32 x it measured 3-6% slower than k_tq3h on an H100: the staging halves
// the warps an SM holds). The arguments of k_tq3h; block 32·W threads (one row), grid SMs x tqpBlocksPerSm, dynamic
// shared memory W·(TQH_WARP + TQP_RAW_BF16)·4 bytes. 72 registers: no spills (64: 32 bytes spilled; measured slower)
extern "C" __global__ void __maxnreg__(72) k_tq3p(TQ3_ARGS) {
    extern __shared__ __align__(16) float tq3buf[];
    tqp_body<true>(x, K, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, M, tiled, tq3buf);
}

// the arguments of k_tq3 (most unused: the plan fixes them), W = ceil(Kpad / 1024) warps per row
#define TQH_BODY(BF, AS) tqh_body<BF, AS>(x, K, Kpad, rscale, bits, Gout, clip, qmin, qmax, codes, scales, M, W, tiled, tq3buf, red)
// 56 registers: 36 warps per SM (64 measured 4-14% slower at M = 4096, no spills at either)
extern "C" __global__ void __maxnreg__(56) k_tq3h(TQ3_ARGS) {
    extern __shared__ __align__(16) float tq3buf[];
    __shared__ float red[32];
    if (xBf16) TQH_BODY(true, false);
    else TQH_BODY(false, true);
}

// ---------------------------------------------------------------- low-rank down projection on tensor cores
// part[ks, m, :] = sum over this split's K chunks of (x[m, k]·ismooth[k])·down[k, :] (no rotation; a shift
// o adds o·down, which the host computes once and k_tq2 adds as lrbias), TF32 mma.sync m16n8k8 with x split into hi + lo TF32 halves (and down too when it is
// not exactly TF32: dlo != null), so the result is float32-accurate. A block: 4 warps x 16 rows; grid
// (ceil(M/64), ks), `cps` chunks of 32 columns per split. Lane (g, t) = (lane>>2, lane&3) reads columns
// f(t, j) = 4t + j (j < 4), 12 + 4t + j (j >= 4) of a chunk of its rows g and g + 8 (K order is a free
// choice of a dot product); `down` is laid out on the host in the same order, float4 q = 2·nt + step/2
// of a lane: dfrag[((chunk·2NT + q)·32 + lane)·4 + 2·(step&1) + e] = down[chunk·32 + f(t, 2·step + e)]
// [8·nt + g], zero past Kp. r = 8·NT. x is F32 or BF16 (xBf16: widened exactly, then the same arithmetic, so the
// partial sums are bit-identical to the F32 run on the widened values). The block stages each chunk's fragments of
// `down` in shared memory (cp.async, 3 stages, 3·NT KB).
__device__ __forceinline__ uint32_t tf32(float f) {
    uint32_t o;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(o) : "f"(f));
    return o;
}
__device__ __forceinline__ void mma_tf32(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
template <int NT, bool BF16>
__device__ __forceinline__ void lrdown_body(const void* __restrict__ x, int K, const float* __restrict__ ismooth,
        const float* __restrict__ dhi, const float* __restrict__ dlo, int M, int cps, int nchunks, float* __restrict__ part,
        float4* sdn_) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int gid = lane >> 2, tig = lane & 3;
    const long long row0 = (long long)blockIdx.x * 64 + warp * 16 + gid, row1 = row0 + 8;
    const int ks = blockIdx.y, c0 = ks * cps, c1 = min(nchunks, c0 + cps);
    const long long r0 = min(row0, (long long)M - 1) * K, r1 = min(row1, (long long)M - 1) * K;
    float acc[NT][4];
#pragma unroll
    for (int n = 0; n < NT; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
    // the chunk's B fragments (NT KB, the same for the block's 4 warps) staged once per block: 3 stages by cp.async,
    // one barrier per chunk (the stage refilled after the barrier was read in the previous chunk). Read by each warp
    // from L1/L2 instead (4 KB per warp and chunk at r = 32): 34.7 instead of 27.2 µs at M = 4096, K = 3072 on an H200
    // (docs/benchmarks/cudatq2.md)
    float4 (*sdn)[2 * NT * 32] = reinterpret_cast<float4 (*)[2 * NT * 32]>(sdn_);
    auto issued = [&](int c, int st) {
        const float4* src = reinterpret_cast<const float4*>(dhi) + (long long)c * 2 * NT * 32;
#pragma unroll
        for (int q = 0; q < NT / 2; q++) {
            const int i = threadIdx.x + q * 128;
            asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(&sdn[st][i])), "l"(src + i) : "memory");
        }
    };
#define LRD_PROLOGUE() \
    if (c0 < c1) issued(c0, 0); \
    asm volatile("cp.async.commit_group;\n" ::: "memory"); \
    if (c0 + 1 < c1) issued(c0 + 1, 1); \
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#define LRD_STAGE(c, j) \
    asm volatile("cp.async.wait_group 1;\n" ::: "memory"); \
    __syncthreads(); \
    if ((c) + 2 < c1) issued((c) + 2, ((j) + 2) % 3); \
    asm volatile("cp.async.commit_group;\n" ::: "memory");
    auto chunk = [&](int c, float (&a)[2][8], int j) {
        const int k = c * 32 + tig * 4;
        if (ismooth != nullptr && k < K) {   // x·(1/s): within 1.5 ulp of x/s, far inside the low-rank tolerance
            const float4 s0 = __ldg(reinterpret_cast<const float4*>(ismooth + k));
            const float4 s1 = k + 16 < K ? __ldg(reinterpret_cast<const float4*>(ismooth + k + 16)) : make_float4(0.f, 0.f, 0.f, 0.f);
            const float sv[8] = {s0.x, s0.y, s0.z, s0.w, s1.x, s1.y, s1.z, s1.w};
#pragma unroll
            for (int e = 0; e < 8; e++) { a[0][e] = a[0][e] * sv[e]; a[1][e] = a[1][e] * sv[e]; }
        }
        const float4* bl = dlo ? reinterpret_cast<const float4*>(dlo) + (long long)c * 2 * NT * 32 + lane : nullptr;
        float4 bv[NT][2];
        const float4* bh = &sdn[j % 3][lane];
#pragma unroll
        for (int n = 0; n < NT; n++) { bv[n][0] = bh[(n * 2) * 32]; bv[n][1] = bh[(n * 2 + 1) * 32]; }
#pragma unroll
        for (int s = 0; s < 4; s++) {
            uint32_t h0 = tf32(a[0][2 * s]), h1 = tf32(a[1][2 * s]), h2 = tf32(a[0][2 * s + 1]), h3 = tf32(a[1][2 * s + 1]);
            uint32_t l0 = tf32(a[0][2 * s] - __uint_as_float(h0)), l1 = tf32(a[1][2 * s] - __uint_as_float(h1));
            uint32_t l2 = tf32(a[0][2 * s + 1] - __uint_as_float(h2)), l3 = tf32(a[1][2 * s + 1] - __uint_as_float(h3));
#pragma unroll
            for (int n = 0; n < NT; n++) {
                const float4 b = bv[n][s >> 1];
                uint32_t b0 = __float_as_uint((s & 1) ? b.z : b.x), b1 = __float_as_uint((s & 1) ? b.w : b.y);
                mma_tf32(acc[n], h0, h1, h2, h3, b0, b1);
                mma_tf32(acc[n], l0, l1, l2, l3, b0, b1);
                if (bl != nullptr) {
                    float4 q = __ldg(bl + (n * 2 + (s >> 1)) * 32);
                    mma_tf32(acc[n], h0, h1, h2, h3, __float_as_uint((s & 1) ? q.z : q.x), __float_as_uint((s & 1) ? q.w : q.y));
                }
            }
        }
    };
    // x of the next chunk in flight (a deeper ring of registers measured slower: 130 registers, fewer warps; so did a
    // 4-stage per-warp cp.async ring of x in shared memory). Columns k..k+3, k+16..k+19 of rows row0, row1.
    if constexpr (BF16) {
        const uint16_t* xb = reinterpret_cast<const uint16_t*>(x);
        uint2 nx[4];
        auto loadx = [&](int c) {
            const int k = c * 32 + tig * 4;
            const uint2 z = make_uint2(0u, 0u);
            nx[0] = k < K ? __ldg(reinterpret_cast<const uint2*>(xb + r0 + k)) : z;
            nx[1] = k + 16 < K ? __ldg(reinterpret_cast<const uint2*>(xb + r0 + k + 16)) : z;
            nx[2] = k < K ? __ldg(reinterpret_cast<const uint2*>(xb + r1 + k)) : z;
            nx[3] = k + 16 < K ? __ldg(reinterpret_cast<const uint2*>(xb + r1 + k + 16)) : z;
        };
        LRD_PROLOGUE()
        if (c0 < c1) loadx(c0);
        for (int c = c0, j = 0; c < c1; c++, j++) {
            float a[2][8];
            bf16x4(nx[0], &a[0][0]); bf16x4(nx[1], &a[0][4]); bf16x4(nx[2], &a[1][0]); bf16x4(nx[3], &a[1][4]);
            if (c + 1 < c1) loadx(c + 1);
            LRD_STAGE(c, j)
            chunk(c, a, j);
        }
    } else {
        const float* xf = reinterpret_cast<const float*>(x);
        float4 nx[4];
        auto loadx = [&](int c) {
            const int k = c * 32 + tig * 4;   // 64 contiguous bytes per row and load
            const float4 z = make_float4(0.f, 0.f, 0.f, 0.f);
            nx[0] = k < K ? __ldg(reinterpret_cast<const float4*>(xf + r0 + k)) : z;
            nx[1] = k + 16 < K ? __ldg(reinterpret_cast<const float4*>(xf + r0 + k + 16)) : z;
            nx[2] = k < K ? __ldg(reinterpret_cast<const float4*>(xf + r1 + k)) : z;
            nx[3] = k + 16 < K ? __ldg(reinterpret_cast<const float4*>(xf + r1 + k + 16)) : z;
        };
        LRD_PROLOGUE()
        if (c0 < c1) loadx(c0);
        for (int c = c0, j = 0; c < c1; c++, j++) {
            float a[2][8] = {{nx[0].x, nx[0].y, nx[0].z, nx[0].w, nx[1].x, nx[1].y, nx[1].z, nx[1].w},
                             {nx[2].x, nx[2].y, nx[2].z, nx[2].w, nx[3].x, nx[3].y, nx[3].z, nx[3].w}};
            if (c + 1 < c1) loadx(c + 1);
            LRD_STAGE(c, j)
            chunk(c, a, j);
        }
    }
#undef LRD_PROLOGUE
#undef LRD_STAGE
    const int r = NT * 8;
#pragma unroll
    for (int n = 0; n < NT; n++) {
        const int j = n * 8 + tig * 2;
        if (row0 < M) *reinterpret_cast<float2*>(part + ((long long)ks * M + row0) * r + j) = make_float2(acc[n][0], acc[n][1]);
        if (row1 < M) *reinterpret_cast<float2*>(part + ((long long)ks * M + row1) * r + j) = make_float2(acc[n][2], acc[n][3]);
    }
}

// x: F32 [M][K] or (xBf16 = 1) BF16 [M][K], widened exactly
#define LRD_ARGS const void* __restrict__ x, int K, const float* __restrict__ ismooth, \
        const float* __restrict__ dhi, const float* __restrict__ dlo, int M, int cps, int nchunks, float* __restrict__ part, \
        int xBf16
#define LRD_PASS x, K, ismooth, dhi, dlo, M, cps, nchunks, part
#define LRD_SMEM(NT) __shared__ __align__(16) float4 sdn[3 * 2 * NT * 32];
#define LRD_KERNEL(R, NT) extern "C" __global__ void __launch_bounds__(128) k_lr_down_r##R(LRD_ARGS) { \
        LRD_SMEM(NT) \
        if (xBf16) lrdown_body<NT, true>(LRD_PASS, sdn); else lrdown_body<NT, false>(LRD_PASS, sdn); }
LRD_KERNEL(16, 2)
LRD_KERNEL(32, 4)
LRD_KERNEL(48, 6)
LRD_KERNEL(64, 8)
#undef LRD_KERNEL
#undef LRD_SMEM

// ---------------------------------------------------------------- the low-rank sums on their own
// lr [M, 2r] (hi + lo 16-bit halves) = lrbias + the ks splits of k_lr_down, exactly as k_tq2/k_tq3 write it when
// they are given the splits (same order of additions). With it, k_lr_down can run on a second stream beside the
// transform (which then gets lrpart = null) instead of before it. One warp per row, 8 rows per block.
extern "C" __global__ void __launch_bounds__(256) k_lr_sum(const float* __restrict__ lrpart, int ks, int r,
        void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M) {
    const long long m = (long long)blockIdx.x * 8 + (threadIdx.x >> 5);
    if (m < M) tq_lowrank_row(lrpart, ks, r, lr, lrDt, lrbias, M, m, threadIdx.x & 31);
}
