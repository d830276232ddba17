// Shared helpers of the Nibble CUDA kernels. Built without fast-math and with --fmad=false so that
// every float operation rounds exactly as the Java reference (numerics/Quantizer, numerics/Hadamard).
#pragma once
#include <stdint.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

// dev.nibble.api.DType ordinals
#define DT_F32 0
#define DT_F16 1
#define DT_BF16 2
#define DT_I8 3
#define DT_U8 4
#define DT_I32 5
#define DT_INT4 7
#define DT_UINT4 8
#define DT_NF4 9

__constant__ float NF4_VALUES[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

__device__ __forceinline__ float ldf(const void* p, int dt, long long i) {
    if (dt == DT_F32) return ((const float*)p)[i];
    if (dt == DT_F16) return __half2float(((const __half*)p)[i]);
    return __bfloat162float(((const __nv_bfloat16*)p)[i]);
}

// s as a pair of 16-bit halves (F16 for lrDt == DT_F16, else BF16): hi at lr[idx], the rounded remainder at
// lr[idx + r] (the low-rank sums the GEMM epilogue reads with two 16-bit mmas, to ~2^-17 / ~2^-22)
__device__ __forceinline__ void store_hilo(void* lr, int lrDt, long long idx, int r, float s) {
    if (lrDt == DT_F16) {
        __half hi = __float2half_rn(s);
        reinterpret_cast<__half*>(lr)[idx] = hi;
        reinterpret_cast<__half*>(lr)[idx + r] = __float2half_rn(s - __half2float(hi));
    } else {
        __nv_bfloat16 hi = __float2bfloat16_rn(s);
        reinterpret_cast<__nv_bfloat16*>(lr)[idx] = hi;
        reinterpret_cast<__nv_bfloat16*>(lr)[idx + r] = __float2bfloat16_rn(s - __bfloat162float(hi));
    }
}

// One code of a canonical [rows, K] code tensor (4-bit types packed, low nibble first).
__device__ __forceinline__ int ldcode(const uint8_t* p, int dt, long long row, long long col, long long K) {
    if (dt == DT_I8) return (int)(int8_t)p[row * K + col];
    if (dt == DT_U8) return (int)p[row * K + col];
    long long rb = (K + 1) >> 1;
    int b = p[row * rb + (col >> 1)];
    int nib = (col & 1) ? (b >> 4) & 0xF : b & 0xF;
    return dt == DT_INT4 ? ((nib << 28) >> 28) : nib;
}

// Index of the scale of element (row, col): spr = scales per row (0 = per tensor), gs = group size.
__device__ __forceinline__ long long sidx(long long row, long long col, int spr, int gs) {
    return spr == 0 ? 0 : row * spr + col / gs;
}

__device__ __forceinline__ int nf4_nearest(float v) {
    int best = 0;
    float bd = fabsf(NF4_VALUES[0] - v);
    for (int i = 1; i < 16; i++) {
        float d = fabsf(NF4_VALUES[i] - v);
        if (d < bd) { bd = d; best = i; }
    }
    return best;
}

// Quantizer.code: clamp(rint(x / scale) + zero) in float, scale 0 gives the zero point.
__device__ __forceinline__ int int_code(float x, float scale, int zero, int qmin, int qmax) {
    if (scale == 0.0f) return zero;
    float q = rintf(__fdiv_rn(x, scale));
    float v = __fadd_rn(q, (float)zero);
    if (isnan(v)) return 0;
    v = fminf((float)qmax, v);
    v = fmaxf((float)qmin, v);
    return (int)v;
}

// int_code with a symmetric zero point of 0 and a precomputed inv = 1/scale: rint(x·inv) equals
// rint(x / scale) unless the quotient lies within a few ulps of a half-integer (x·inv is within
// 2 ulps of the correctly rounded quotient); those few fall back to the IEEE division. Bit-identical
// to int_code.
__device__ __forceinline__ int int_code_fast(float x, float scale, float inv, int qmin, int qmax) {
    if (scale == 0.0f) return 0;
    float qa = __fmul_rn(x, inv);
    float fr = fabsf(qa - truncf(qa));
    float tol = 8.0f * fmaxf(fabsf(qa), 1.0f) * 1.1920929e-7f;
    float q = (isfinite(qa) && fabsf(fr - 0.5f) > tol) ? rintf(qa) : rintf(__fdiv_rn(x, scale));
    if (isnan(q)) return 0;
    q = fminf((float)qmax, q);
    q = fmaxf((float)qmin, q);
    return (int)q;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reduction for blocks of whole warps; red has room for 32 floats.
__device__ __forceinline__ float block_sum(float v, float* red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    float t = lane < nw ? red[lane] : 0.0f;
    t = warp_sum(t);
    return t;
}
__device__ __forceinline__ float block_max(float v, float* red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    float t = lane < nw ? red[lane] : -INFINITY;
    return warp_max(t);
}
__device__ __forceinline__ float block_min(float v, float* red) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_min(v);
    __syncthreads();
    if (lane == 0) red[w] = v;
    __syncthreads();
    float t = lane < nw ? red[lane] : INFINITY;
    return warp_min(t);
}
