// Nibble CUDA kernels: element-wise DiT ops, rotations, quantization and the reference GEMMs.
// Every kernel is extern "C" so the Java side finds it by name with cuModuleGetFunction.
#include "nibble_common.cuh"

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                               i += (long long)blockDim.x * gridDim.x)

// ---------------------------------------------------------------- element-wise

// op 0: a + b, 1: a / b (IEEE), 2: a * b. b has nb elements and broadcasts over rows when nb < n.
extern "C" __global__ void k_binary(float* out, const float* a, const float* b, long long n, long long nb, int op) {
    GRID_STRIDE(i, n) {
        float x = a[i], y = b[nb == n ? i : i % nb];
        out[i] = op == 0 ? __fadd_rn(x, y) : op == 1 ? __fdiv_rn(x, y) : __fmul_rn(x, y);
    }
}

// op 0: GELU (tanh approximation), 1: SiLU
extern "C" __global__ void k_unary(float* out, const float* x, long long n, int op) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        if (op == 0) {
            float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
            out[i] = 0.5f * v * (1.0f + tanhf(u));
        } else {
            out[i] = v / (1.0f + expf(-v));
        }
    }
}

extern "C" __global__ void k_modulate(float* out, const float* x, const float* shift, const float* scale,
                                      long long T, long long D, long long n) {
    GRID_STRIDE(i, n) {
        long long d = i % D, b = i / (T * D);
        out[i] = x[i] * (1.0f + scale[b * D + d]) + shift[b * D + d];
    }
}

extern "C" __global__ void k_gated_add(float* out, const float* res, const float* gate, const float* y,
                                       long long T, long long D, long long n) {
    GRID_STRIDE(i, n) {
        long long d = i % D, b = i / (T * D);
        out[i] = res[i] + gate[b * D + d] * y[i];
    }
}

// BF16 activations (PreparedLinear.forward): exact widening, and round to nearest even back
// (__float2bfloat16_rn: the rounding Bf16.round does in Java; NaN stays NaN)
extern "C" __global__ void k_bf16_to_f32(float* out, const uint16_t* x, long long n) {
    GRID_STRIDE(i, n) out[i] = __uint_as_float((uint32_t)x[i] << 16);
}

extern "C" __global__ void k_f32_to_bf16(uint16_t* out, const float* x, long long n) {
    GRID_STRIDE(i, n) out[i] = __bfloat16_as_ushort(__float2bfloat16_rn(x[i]));
}

// one block per row
extern "C" __global__ void k_layernorm(float* out, const float* x, int D, float eps) {
    __shared__ float red[32];
    const float* r = x + (long long)blockIdx.x * D;
    float* o = out + (long long)blockIdx.x * D;
    float s = 0.0f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += r[i];
    float mean = block_sum(s, red) / D;
    float v = 0.0f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) { float d = r[i] - mean; v += d * d; }
    float var = block_sum(v, red) / D;
    float inv = 1.0f / sqrtf(var + eps);
    for (int i = threadIdx.x; i < D; i += blockDim.x) o[i] = (r[i] - mean) * inv;
}

extern "C" __global__ void k_softmax(float* out, const float* x, int D) {
    __shared__ float red[32];
    const float* r = x + (long long)blockIdx.x * D;
    float* o = out + (long long)blockIdx.x * D;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < D; i += blockDim.x) m = fmaxf(m, r[i]);
    m = block_max(m, red);
    float s = 0.0f;
    for (int i = threadIdx.x; i < D; i += blockDim.x) s += expf(r[i] - m);
    s = block_sum(s, red);
    for (int i = threadIdx.x; i < D; i += blockDim.x) o[i] = expf(r[i] - m) / s;
}

// Attention in the DiT layout: qkv [B, T, 3, H, hd]. One block per (query t, head h, batch b);
// dynamic shared memory: hd + T floats.
extern "C" __global__ void k_attention(float* out, const float* qkv, int T, int H, int hd) {
    extern __shared__ float sm[];
    __shared__ float red[32];
    float* q = sm;
    float* sc = sm + hd;
    int t = blockIdx.x, h = blockIdx.y, b = blockIdx.z, D = H * hd;
    const float* base = qkv + (long long)b * T * 3 * D;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) q[d] = base[(long long)t * 3 * D + h * hd + d];
    __syncthreads();
    float inv = 1.0f / sqrtf((float)hd);
    float m = -INFINITY;
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        const float* k = base + (long long)j * 3 * D + D + h * hd;
        float s = 0.0f;
        for (int d = 0; d < hd; d++) s += q[d] * k[d];
        s *= inv;
        sc[j] = s;
        m = fmaxf(m, s);
    }
    m = block_max(m, red);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < T; j += blockDim.x) { float e = expf(sc[j] - m); sc[j] = e; sum += e; }
    sum = block_sum(sum, red);
    __syncthreads();
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < T; j++) acc += sc[j] * base[(long long)j * 3 * D + 2 * D + h * hd + d];
        out[((long long)b * T + t) * D + h * hd + d] = acc / sum;
    }
}

// ---------------------------------------------------------------- rotations (numerics/Hadamard order)

// copy rows of K into rows of Kp, zero-padded
extern "C" __global__ void k_pad_rows(float* out, const float* x, long long rows, int K, int Kp) {
    GRID_STRIDE(i, rows * Kp) {
        long long r = i / Kp; int c = (int)(i % Kp);
        out[i] = c < K ? x[r * K + c] : 0.0f;
    }
}

// In-place regular Hadamard of blocks of n (a power of 4), one CUDA block per (row, block).
// Uses shared memory when useSmem (dynamic size n floats), else works in global memory.
extern "C" __global__ void k_regular_had(float* buf, int Kp, int n, float scale, int useSmem) {
    extern __shared__ float sm[];
    float* g = buf + (long long)blockIdx.x * Kp + (long long)blockIdx.y * n;
    float* v = useSmem ? sm : g;
    if (useSmem) { for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = g[i]; __syncthreads(); }
    int quads = n >> 2;
    for (int s = 1; s < n; s <<= 2) {
        for (int q = threadIdx.x; q < quads; q += blockDim.x) {
            int j = (q / s) * 4 * s + q % s;
            float a = v[j], b = v[j + s], c = v[j + 2 * s], d = v[j + 3 * s];
            float apb = a + b, amb = a - b, cpd = c + d, cmd = c - d;
            v[j] = apb + cmd; v[j + s] = apb - cmd; v[j + 2 * s] = amb + cpd; v[j + 3 * s] = cpd - amb;
        }
        __syncthreads();
    }
    for (int i = threadIdx.x; i < n; i += blockDim.x) g[i] = v[i] * scale;
}

// In-place Sylvester butterflies of blocks of n (a power of 2), then × scale.
extern "C" __global__ void k_sylv_had(float* buf, int Kp, int n, float scale, int useSmem) {
    extern __shared__ float sm[];
    float* g = buf + (long long)blockIdx.x * Kp + (long long)blockIdx.y * n;
    float* v = useSmem ? sm : g;
    if (useSmem) { for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = g[i]; __syncthreads(); }
    int pairs = n >> 1;
    for (int s = 1; s < n; s <<= 1) {
        for (int q = threadIdx.x; q < pairs; q += blockDim.x) {
            int j = (q / s) * 2 * s + q % s;
            float a = v[j], b = v[j + s];
            v[j] = a + b; v[j + s] = a - b;
        }
        __syncthreads();
    }
    for (int i = threadIdx.x; i < n; i += blockDim.x) g[i] = v[i] * scale;
}

// QuaRot's global transform, second half: y[c*pow + j] = (sum_r x[r*pow + j] * H[r][c]) * scale
extern "C" __global__ void k_hadk_mix(float* out, const float* in, long long rows, int hadK, int pow2,
                                      const int8_t* H, float scale) {
    long long K = (long long)hadK * pow2;
    GRID_STRIDE(i, rows * K) {
        long long row = i / K; int e = (int)(i % K); int c = e / pow2, j = e % pow2;
        const float* x = in + row * K;
        float s = 0.0f;
        for (int r = 0; r < hadK; r++) {
            float v = x[(long long)r * pow2 + j];
            s += H[r * hadK + c] > 0 ? v : -v;
        }
        out[i] = s * scale;
    }
}

// dense rotation y[c] = sum_r x[r] Q[r][c], r ascending
extern "C" __global__ void k_dense_rot(float* out, const float* x, long long rows, int K, const float* Q) {
    GRID_STRIDE(i, rows * K) {
        long long row = i / K; int c = (int)(i % K);
        const float* xr = x + row * K;
        float s = 0.0f;
        for (int r = 0; r < K; r++) s += xr[r] * Q[(long long)r * K + c];
        out[i] = s;
    }
}

// ---------------------------------------------------------------- quantization (numerics/Quantizer)

// lo = min(0, min v), hi = max(0, max v) of each (row, group); grid (rows, groups)
extern "C" __global__ void k_qstats(const float* x, int K, int gs, int ng, float* lo, float* hi) {
    __shared__ float red[32];
    long long row = blockIdx.x; int g = blockIdx.y;
    int from = g * gs, to = min(K, from + gs);
    float l = 0.0f, h = 0.0f;
    for (int i = from + threadIdx.x; i < to; i += blockDim.x) { float v = x[row * K + i]; l = fminf(l, v); h = fmaxf(h, v); }
    l = block_min(l, red);
    h = block_max(h, red);
    if (threadIdx.x == 0) { lo[row * ng + g] = l; hi[row * ng + g] = h; }
}

extern "C" __global__ void k_qstats_reduce(const float* lo, const float* hi, long long n, float* loOut, float* hiOut) {
    __shared__ float red[32];
    float l = 0.0f, h = 0.0f;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) { l = fminf(l, lo[i]); h = fmaxf(h, hi[i]); }
    l = block_min(l, red);
    h = block_max(h, red);
    if (threadIdx.x == 0) { loOut[0] = l; hiOut[0] = h; }
}

// Quantizer.computeParams from the statistics
extern "C" __global__ void k_qparams(const float* lo, const float* hi, long long n, float* scales, int* zeros,
                                     int symmetric, int nf4, float clip, int qmin, int qmax) {
    GRID_STRIDE(i, n) {
        if (symmetric) {
            float absmax = fmaxf(hi[i], -lo[i]);
            if (absmax == 0.0f) absmax = 0.0f;
            float c = __fmul_rn(absmax, clip);
            scales[i] = nf4 ? c : __fdiv_rn(c, (float)qmax);
            if (zeros) zeros[i] = 0;
        } else {
            float l = __fmul_rn(lo[i], clip), h = __fmul_rn(hi[i], clip);
            float scale = __fdiv_rn(__fsub_rn(h, l), (float)(qmax - qmin));
            scales[i] = scale;
            int zero = scale == 0.0f ? 0 : (int)__fsub_rn((float)qmin, rintf(__fdiv_rn(l, scale)));
            zeros[i] = max(qmin, min(qmax, zero));
        }
    }
}

// Codes of [rows, K]; one thread per output byte (a pair of 4-bit codes, or one 8-bit code).
extern "C" __global__ void k_qcodes(const float* x, long long rows, int K, int gs, int spr, const float* scales,
                                    const int* zeros, uint8_t* codes, int dt, int qmin, int qmax) {
    int packed = dt == DT_INT4 || dt == DT_UINT4 || dt == DT_NF4;
    int rb = packed ? (K + 1) / 2 : K;
    GRID_STRIDE(i, rows * rb) {
        long long row = i / rb; int b = (int)(i % rb);
        int per = packed ? 2 : 1;
        unsigned out = 0;
        for (int e = 0; e < per; e++) {
            int col = b * per + e;
            if (col >= K) break;
            long long si = sidx(row, col, spr, gs);
            float v = x[row * K + col], s = scales[si];
            int c;
            if (dt == DT_NF4) c = s == 0.0f ? nf4_nearest(0.0f) : nf4_nearest(__fdiv_rn(v, s));
            else c = int_code(v, s, zeros ? zeros[si] : 0, qmin, qmax);
            out |= (unsigned)(packed ? (c & 0xF) : (c & 0xFF)) << (4 * e);
        }
        codes[i] = (uint8_t)out;
    }
}

extern "C" __global__ void k_dequant(const uint8_t* codes, int dt, long long rows, int K, int gs, int spr,
                                     const float* scales, const int* zeros, float* out) {
    GRID_STRIDE(i, rows * K) {
        long long row = i / K; int col = (int)(i % K);
        long long si = sidx(row, col, spr, gs);
        int c = ldcode(codes, dt, row, col, K);
        out[i] = dt == DT_NF4 ? NF4_VALUES[c] * scales[si] : (float)(c - (zeros ? zeros[si] : 0)) * scales[si];
    }
}

// ---------------------------------------------------------------- reference integer GEMMs

struct QOperand {
    const uint8_t* codes; const float* scales; const int* zeros; int dt; int spr; int gs;
};

// Exact int32 sum over one group of k for (m, n)
__device__ __forceinline__ int qdot(const uint8_t* a, int adt, int aspr, int ags, const int* za,
                                    const uint8_t* w, int wdt, int wspr, int wgs, const int* zw,
                                    long long m, long long n, int K, int from, int to) {
    int acc = 0;
    for (int k = from; k < to; k++) {
        int av = ldcode(a, adt, m, k, K) - (za ? za[sidx(m, k, aspr, ags)] : 0);
        int wv = ldcode(w, wdt, n, k, K) - (zw ? zw[sidx(n, k, wspr, wgs)] : 0);
        acc += av * wv;
    }
    return acc;
}

// acc[g, m, n] over groups of g (g = K, G = 1 for per-row operands); one thread per (m, n)
extern "C" __global__ void k_gemm_acc(const uint8_t* a, int adt, int aspr, int ags, const int* za,
                                      const uint8_t* w, int wdt, int wspr, int wgs, const int* zw,
                                      int M, int N, int K, int g, int G, int* out) {
    GRID_STRIDE(i, (long long)M * N) {
        long long m = i / N, n = i % N;
        for (int gi = 0; gi < G; gi++) {
            out[(long long)gi * M * N + i] = qdot(a, adt, aspr, ags, za, w, wdt, wspr, wgs, zw, m, n, K,
                                                  gi * g, min(K, (gi + 1) * g));
        }
    }
}

// y = sum_g acc_g * sa(m, g) * sw(n, g)
extern "C" __global__ void k_gemm_q(const uint8_t* a, int adt, int aspr, int ags, const int* za, const float* sa,
                                    const uint8_t* w, int wdt, int wspr, int wgs, const int* zw, const float* sw,
                                    int M, int N, int K, int g, int G, float* out) {
    GRID_STRIDE(i, (long long)M * N) {
        long long m = i / N, n = i % N;
        float y = 0.0f;
        for (int gi = 0; gi < G; gi++) {
            int from = gi * g;
            int acc = qdot(a, adt, aspr, ags, za, w, wdt, wspr, wgs, zw, m, n, K, from, min(K, from + g));
            y += (float)acc * sa[sidx(m, from, aspr, ags)] * sw[sidx(n, from, wspr, wgs)];
        }
        out[i] = y;
    }
}

// ---------------------------------------------------------------- tiled float GEMM

// out[m, n] (+)= sum_k x[m, k] * w(n, k) (+ bias[n]). w is either a float tensor read at
// n*ldn + k*ldk, or canonical codes [N, K] dequantized on the fly (W4A16, NF4, INT8 weights).
// 64x64 tiles, 256 threads, 4x4 outputs per thread.
extern "C" __global__ void k_gemm_f(const float* x, int M, int N, int K, const void* w, int wdt, long long ldn,
                                    long long ldk, const float* wsc, const int* wz, int wspr, int wgs,
                                    const float* bias, int accumulate, float* out) {
    __shared__ float xs[16][64 + 4];
    __shared__ float ws[16][64 + 4];
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    int m0 = blockIdx.y * 64, n0 = blockIdx.x * 64;
    float acc[4][4] = {};
    bool codes = wdt != DT_F32 && wdt != DT_F16 && wdt != DT_BF16;
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int e = threadIdx.x; e < 16 * 64; e += 256) {
            int r = e / 16, kk = e % 16;
            int m = m0 + r, n = n0 + r, k = k0 + kk;
            xs[kk][r] = (m < M && k < K) ? x[(long long)m * K + k] : 0.0f;
            float wv = 0.0f;
            if (n < N && k < K) {
                if (!codes) {
                    wv = ldf(w, wdt, (long long)n * ldn + (long long)k * ldk);
                } else {
                    int c = ldcode((const uint8_t*)w, wdt, n, k, K);
                    long long si = sidx(n, k, wspr, wgs);
                    wv = wdt == DT_NF4 ? NF4_VALUES[c] * wsc[si] : (float)(c - (wz ? wz[si] : 0)) * wsc[si];
                }
            }
            ws[kk][r] = wv;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a[i] = xs[kk][ty * 4 + i]; b[i] = ws[kk][tx * 4 + i]; }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty * 4 + i;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx * 4 + j;
            if (n >= N) continue;
            float v = acc[i][j];
            if (bias) v += bias[n];
            long long o = (long long)m * N + n;
            out[o] = accumulate ? out[o] + v : v;
        }
    }
}
