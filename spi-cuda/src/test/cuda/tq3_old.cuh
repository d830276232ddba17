// The k_tq3 of commit f6f1357 (before tq4), kept for side-by-side timing only: ./harness tqbench with NIBBLE_TQ=3.
// Included by nibble_harness.cu after nibble_fused.cu (it uses that file's helpers); not part of the jar.
template <int R>
__device__ __forceinline__ void tq3old_body(const void* __restrict__ x, int K, int Kpad, const float* __restrict__ smooth,
        const float* __restrict__ shift, int rot, int ln0, float rscale, int bits, int gs, int Gout, float clip,
        int qmin, int qmax, uint8_t* __restrict__ codes, float* __restrict__ scales, const float* __restrict__ lrpart,
        int ks, int r, void* __restrict__ lr, int lrDt, const float* __restrict__ lrbias, int M, int xBf16, int W,
        int tiled, float* tbuf, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int rowInBlock = warp / W, wr = warp - rowInBlock * W;
    const long long m = (long long)blockIdx.x * (blockDim.x / (32 * W)) + rowInBlock;
    const bool live = m < M;
    const long long mm = live ? m : 0;
    float* buf = tbuf + warp * (2 * TQ3_HALF);
    float v[R][16];
    // 1. loads: all of this warp's columns in flight at once (zero beyond K)
#pragma unroll
    for (int j = 0; j < R; j++) {
        const int c0 = ((2 * (wr * R + j) + (lane >> 4)) << 8) + ((lane & 15) << 4);
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const int c = c0 + 4 * q;
            if (xBf16) {
                uint2 a = make_uint2(0u, 0u);
                if (live && c < K) a = __ldg(reinterpret_cast<const uint2*>(reinterpret_cast<const uint16_t*>(x) + mm * K + c));
                bf16x4(a, &v[j][4 * q]);
            } else {
                float4 a = make_float4(0.f, 0.f, 0.f, 0.f);
                if (live && c < K) a = __ldg(reinterpret_cast<const float4*>(reinterpret_cast<const float*>(x) + mm * K + c));
                v[j][4 * q] = a.x; v[j][4 * q + 1] = a.y; v[j][4 * q + 2] = a.z; v[j][4 * q + 3] = a.w;
            }
        }
    }
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
        } else if ((c0 & (gs - 1)) == 0 && c0 < Kpad && c0 / gs < Gout) {
            scales[m * Gout + c0 / gs] = s;
        }
        if (c0 >= Kpad) continue;
        uint32_t t[16];
#pragma unroll
        for (int q = 0; q < 4; q++) tq3_codes4(&v[j][4 * q], pre, s, inv, tol, qmin, qmax, &t[4 * q]);
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

#define TQ3OLD_BODY(R) \
    extern __shared__ __align__(16) float tq3buf[]; \
    __shared__ float red[32]; \
    tq3old_body<R>(x, K, Kpad, smooth, shift, rot, ln0, rscale, bits, gs, Gout, clip, qmin, qmax, codes, scales, lrpart, ks, r, \
                lr, lrDt, lrbias, M, xBf16, W, tiled, tq3buf, red);
extern "C" __global__ void __launch_bounds__(512) k_tq3old_r1(TQ3_ARGS) { TQ3OLD_BODY(1) }
extern "C" __global__ void __launch_bounds__(512) k_tq3old_r2(TQ3_ARGS) { TQ3OLD_BODY(2) }
