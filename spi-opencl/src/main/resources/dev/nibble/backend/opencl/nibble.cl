// Nibble OpenCL kernels. The numerics follow dev.nibble.api.QuantScheme and
// dev.nibble.api.numerics.{Quantizer, Hadamard}: codes are bit-identical to the host quantizer.
// No contraction into fma: the canonical evaluation order is a sequence of separately rounded ops.
#pragma OPENCL FP_CONTRACT OFF

#ifdef NIBBLE_FP64_DIV
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
// float(double(a) / double(b)) is the correctly rounded float quotient: 53 >= 2*24 + 2 bits, so the
// double rounding is innocuous. Used where the device lacks correctly rounded float division.
inline float qdiv(float a, float b) { return (float) ((double) a / (double) b); }
#else
// built with -cl-fp32-correctly-rounded-divide-sqrt: '/' is IEEE division
inline float qdiv(float a, float b) { return a / b; }
#endif

#define T_F32 0
#define T_F16 1
#define T_BF16 2
#define T_I8 3
#define T_U8 4
#define T_INT4 5
#define T_UINT4 6
#define T_NF4 7

#define G_TENSOR 0
#define G_ROW 1
#define G_GROUP 2

__constant float NF4_VALUES[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

// ---- integer dot product of four signed bytes packed in an int ----
#if defined(NIBBLE_NV_DP4A)
inline int dot4(int a, int b, int c) {
    int d;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}
#elif defined(NIBBLE_KHR_DOT)
#pragma OPENCL EXTENSION cl_khr_integer_dot_product : enable
inline int dot4(int a, int b, int c) { return c + dot(as_char4(a), as_char4(b)); }
#else
inline int dot4(int a, int b, int c) {
    char4 x = as_char4(a);
    char4 y = as_char4(b);
    return c + x.s0 * y.s0 + x.s1 * y.s1 + x.s2 * y.s2 + x.s3 * y.s3;
}
#endif

// ---- element access ----

// code (row, col) of a canonical code tensor with rows of k codes
inline int load_code(__global const uchar* c, int type, int row, int col, int k) {
    if (type == T_I8) return (int) (char) c[(long) row * k + col];
    if (type == T_U8) return (int) c[(long) row * k + col];
    int rb = (k + 1) >> 1;
    int b = c[(long) row * rb + (col >> 1)];
    int nib = (col & 1) ? (b >> 4) & 15 : b & 15;
    return type == T_INT4 ? (nib ^ 8) - 8 : nib;
}

inline float load_float(__global const void* p, int type, long i) {
    if (type == T_F32) return ((__global const float*) p)[i];
    if (type == T_F16) return vload_half(i, (__global const half*) p);
    uint u = ((__global const ushort*) p)[i];
    return as_float(u << 16);
}

// index of the scale / zero point of element (row, col): per tensor, per row, per (row, group)
inline int param_index(int gran, int row, int col, int gs, int spr) {
    return gran == G_TENSOR ? 0 : gran == G_ROW ? row : row * spr + col / gs;
}

// ---- element-wise ----

// op 0: a + b, 1: a / b (IEEE), 2: a * b; b broadcast with period bn
__kernel void binary_op(__global const float* a, __global const float* b, __global float* y, int n, int bn, int op) {
    int i = get_global_id(0);
    if (i >= n) return;
    float x = a[i];
    float v = b[bn == n ? i : i % bn];
    y[i] = op == 0 ? x + v : op == 1 ? qdiv(x, v) : x * v;
}

// op 0: GELU (tanh), 1: SiLU
__kernel void unary_op(__global const float* x, __global float* y, int n, int op) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[i];
    if (op == 0) {
        y[i] = 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    } else {
        y[i] = v / (1.0f + exp(-v));
    }
}

// BF16 activations of PreparedLinear.forward: widened exactly on the way in, the F32 result rounded
// to nearest even on the way out; bit operations only, the same as dev.nibble.api.numerics.Bf16
// (a NaN stays a quiet NaN with its sign and leading payload bits)
__kernel void bf16_widen(__global const ushort* x, __global float* y, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    y[i] = as_float((uint) x[i] << 16);
}

__kernel void bf16_round(__global const float* x, __global ushort* y, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    uint u = as_uint(x[i]);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        y[i] = (ushort) ((u >> 16) | 0x40u);
    } else {
        y[i] = (ushort) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}

// x [B, T, D]; p [B, D]: op 0 modulate x*(1+scale)+shift (p=shift, q=scale); op 1 gated add r + gate*y (p=gate, q=y, x=r)
__kernel void adaln_op(__global const float* x, __global const float* p, __global const float* q, __global float* y,
        int b, int t, int d, int op) {
    int i = get_global_id(0);
    if (i >= b * t * d) return;
    int bi = i / (t * d);
    int di = i % d;
    if (op == 0) {
        y[i] = x[i] * (1.0f + q[bi * d + di]) + p[bi * d + di];
    } else {
        y[i] = x[i] + p[bi * d + di] * q[i];
    }
}

#define ROW_WG 64

inline float wg_sum(__local float* s, float v) {
    int lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = ROW_WG / 2; h > 0; h >>= 1) {
        if (lid < h) s[lid] += s[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float wg_max(__local float* s, float v) {
    int lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = ROW_WG / 2; h > 0; h >>= 1) {
        if (lid < h) s[lid] = fmax(s[lid], s[lid + h]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

// one work-group of ROW_WG per row
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void layer_norm(__global const float* x, __global float* y, int d, float eps) {
    __local float s[ROW_WG];
    int row = get_group_id(0);
    int lid = get_local_id(0);
    __global const float* xr = x + (long) row * d;
    __global float* yr = y + (long) row * d;
    float acc = 0.0f;
    for (int i = lid; i < d; i += ROW_WG) acc += xr[i];
    float mean = wg_sum(s, acc) / (float) d;
    acc = 0.0f;
    for (int i = lid; i < d; i += ROW_WG) {
        float c = xr[i] - mean;
        acc += c * c;
    }
    float var = wg_sum(s, acc) / (float) d;
    float den = sqrt(var + eps);
    for (int i = lid; i < d; i += ROW_WG) yr[i] = (xr[i] - mean) / den;
}

__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void softmax_rows(__global const float* x, __global float* y, int d) {
    __local float s[ROW_WG];
    int row = get_group_id(0);
    int lid = get_local_id(0);
    __global const float* xr = x + (long) row * d;
    __global float* yr = y + (long) row * d;
    float m = -INFINITY;
    for (int i = lid; i < d; i += ROW_WG) m = fmax(m, xr[i]);
    m = wg_max(s, m);
    float acc = 0.0f;
    for (int i = lid; i < d; i += ROW_WG) {
        float e = exp(xr[i] - m);
        yr[i] = e;
        acc += e;
    }
    float sum = wg_sum(s, acc);
    for (int i = lid; i < d; i += ROW_WG) yr[i] = yr[i] / sum;
}

// qkv [B, T, 3, H, hd] -> y [B, T, H, hd]; one work-item per (b, h, query)
__kernel void attention(__global const float* qkv, __global float* y, int b, int t, int heads, int hd, float scale) {
    int id = get_global_id(0);
    if (id >= b * heads * t) return;
    int tq = id % t;
    int h = (id / t) % heads;
    int bi = id / (t * heads);
    int dm = heads * hd;
    __global const float* q = qkv + ((long) bi * t + tq) * 3 * dm + h * hd;
    __global float* out = y + ((long) bi * t + tq) * dm + h * hd;
    float m = -INFINITY;
    for (int tk = 0; tk < t; tk++) {
        __global const float* k = qkv + ((long) bi * t + tk) * 3 * dm + dm + h * hd;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * k[i];
        m = fmax(m, s * scale);
    }
    for (int i = 0; i < hd; i++) out[i] = 0.0f;
    float sum = 0.0f;
    for (int tk = 0; tk < t; tk++) {
        __global const float* k = qkv + ((long) bi * t + tk) * 3 * dm + dm + h * hd;
        __global const float* v = k + dm;
        float s = 0.0f;
        for (int i = 0; i < hd; i++) s += q[i] * k[i];
        float p = exp(s * scale - m);
        sum += p;
        for (int i = 0; i < hd; i++) out[i] += p * v[i];
    }
    for (int i = 0; i < hd; i++) out[i] = out[i] / sum;
}

// ---- rotations (canonical order of dev.nibble.api.numerics.Hadamard) ----

// y [rows, kp] = x [rows, k] zero-padded
__kernel void pad_rows(__global const float* x, __global float* y, int rows, int k, int kp) {
    int i = get_global_id(0);
    if (i >= rows * kp) return;
    int r = i / kp;
    int c = i % kp;
    y[i] = c < k ? x[(long) r * k + c] : 0.0f;
}

// regular Hadamard of one block per work-group of n/4 items, in local memory; stages are
// element-wise independent, so the parallel order gives the canonical result
__kernel void regular_hadamard(__global float* v, int n, float scale, __local float* buf) {
    int blk = get_group_id(0);
    int lid = get_local_id(0);
    int ls = get_local_size(0);
    __global float* p = v + (long) blk * n;
    for (int i = lid; i < n; i += ls) buf[i] = p[i];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = 1; s < n; s *= 4) {
        for (int u = lid; u < n / 4; u += ls) {
            int j = (u / s) * 4 * s + u % s;
            float a = buf[j];
            float b = buf[j + s];
            float c = buf[j + 2 * s];
            float d = buf[j + 3 * s];
            float apb = a + b;
            float amb = a - b;
            float cpd = c + d;
            float cmd = c - d;
            buf[j] = apb + cmd;
            buf[j + s] = apb - cmd;
            buf[j + 2 * s] = amb + cpd;
            buf[j + 3 * s] = cpd - amb;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = lid; i < n; i += ls) p[i] = buf[i] * scale;
}

// Sylvester butterflies of one power-of-two block per work-item, then x scale (1 to skip)
__kernel void sylvester_blocks(__global float* v, int blocks, int n, float scale, int apply_scale) {
    int blk = get_global_id(0);
    if (blk >= blocks) return;
    __global float* p = v + (long) blk * n;
    for (int s = 1; s < n; s *= 2) {
        for (int base = 0; base < n; base += 2 * s) {
            for (int j = base; j < base + s; j++) {
                float a = p[j];
                float b = p[j + s];
                p[j] = a + b;
                p[j + s] = a - b;
            }
        }
    }
    if (apply_scale) {
        for (int i = 0; i < n; i++) p[i] = p[i] * scale;
    }
}

// global Sylvester, second part: mix the hadK values at stride pow by the ±1 matrix h, then x scale
__kernel void sylvester_mix(__global const float* x, __global float* y, __global const int* h, int rows, int hadk,
        int pow, float scale) {
    int id = get_global_id(0);
    if (id >= rows * pow) return;
    int row = id / pow;
    int j = id % pow;
    long off = (long) row * hadk * pow + j;
    if (hadk == 1) {
        y[off] = x[off] * scale;
        return;
    }
    for (int c = 0; c < hadk; c++) {
        float s = 0.0f;
        for (int r = 0; r < hadk; r++) {
            float xv = x[off + (long) r * pow];
            s += h[r * hadk + c] > 0 ? xv : -xv;
        }
        y[off + (long) c * pow] = s * scale;
    }
}

// dense rotation y[r, c] = sum_i x[r, i] q[i, c], i ascending
__kernel void dense_rotate(__global const float* x, __global const float* q, __global float* y, int rows, int k) {
    int id = get_global_id(0);
    if (id >= rows * k) return;
    int r = id / k;
    int c = id % k;
    __global const float* xr = x + (long) r * k;
    float s = 0.0f;
    for (int i = 0; i < k; i++) s += xr[i] * q[(long) i * k + c];
    y[id] = s;
}

// ---- quantization ----

#define QP_WG 64

// scales and zero points of one segment (tensor, row or (row, group)) per work-group
__kernel __attribute__((reqd_work_group_size(QP_WG, 1, 1)))
void quant_params(__global const float* x, int rows, int k, int gran, int gs, int spr, int symmetric, int nf4,
        float clip, int qmin, int qmax, int divisor, __global float* scales, __global int* zeros) {
    __local float la[QP_WG];
    __local float ll[QP_WG];
    __local float lh[QP_WG];
    int seg = get_group_id(0);
    int lid = get_local_id(0);
    long from;
    long to;
    if (gran == G_TENSOR) {
        from = 0;
        to = (long) rows * k;
    } else if (gran == G_ROW) {
        from = (long) seg * k;
        to = from + k;
    } else {
        int r = seg / spr;
        int g = seg % spr;
        from = (long) r * k + (long) g * gs;
        to = (long) r * k + min(k, (g + 1) * gs);
    }
    float amax = 0.0f;
    float lo = 0.0f;
    float hi = 0.0f;
    for (long i = from + lid; i < to; i += QP_WG) {
        float v = x[i];
        amax = fmax(amax, fabs(v));
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    la[lid] = amax;
    ll[lid] = lo;
    lh[lid] = hi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = QP_WG / 2; h > 0; h >>= 1) {
        if (lid < h) {
            la[lid] = fmax(la[lid], la[lid + h]);
            ll[lid] = fmin(ll[lid], ll[lid + h]);
            lh[lid] = fmax(lh[lid], lh[lid + h]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        if (symmetric) {
            float a = la[0] * clip;
            scales[seg] = nf4 ? a : qdiv(a, (float) divisor);
            zeros[seg] = 0;
        } else {
            float l = ll[0] * clip;
            float u = lh[0] * clip;
            float scale = qdiv(u - l, (float) (qmax - qmin));
            scales[seg] = scale;
            int zero = scale == 0.0f ? 0 : convert_int_sat((float) qmin - rint(qdiv(l, scale)));
            zeros[seg] = max(qmin, min(qmax, zero));
        }
    }
}

inline int nf4_nearest(float v) {
    int best = 0;
    float bd = fabs(NF4_VALUES[0] - v);
    for (int i = 1; i < 16; i++) {
        float d = fabs(NF4_VALUES[i] - v);
        if (d < bd) {
            bd = d;
            best = i;
        }
    }
    return best;
}

inline int code_of(float v, float scale, int zero, int nf4, int qmin, int qmax) {
    if (nf4) return nf4_nearest(scale == 0.0f ? 0.0f : qdiv(v, scale));
    if (scale == 0.0f) return zero;
    float t = rint(qdiv(v, scale)) + (float) zero;
    if (isnan(t)) return 0; // Java: (int) NaN == 0
    return (int) fmin((float) qmax, fmax((float) qmin, t));
}

// codes of x [rows, k]; 8-bit: one work-item per element; 4-bit: one per packed byte
__kernel void quant_codes(__global const float* x, int rows, int k, int gran, int gs, int spr,
        __global const float* scales, __global const int* zeros, int has_zeros, int nf4, int qmin, int qmax,
        int packed, __global uchar* out) {
    int i = get_global_id(0);
    if (!packed) {
        if (i >= rows * k) return;
        int r = i / k;
        int c = i % k;
        int si = param_index(gran, r, c, gs, spr);
        out[i] = (uchar) code_of(x[i], scales[si], has_zeros ? zeros[si] : 0, nf4, qmin, qmax);
        return;
    }
    int rb = (k + 1) >> 1;
    if (i >= rows * rb) return;
    int r = i / rb;
    int c0 = (i % rb) * 2;
    int si = param_index(gran, r, c0, gs, spr);
    int lo = code_of(x[(long) r * k + c0], scales[si], has_zeros ? zeros[si] : 0, nf4, qmin, qmax);
    int hi = 0;
    if (c0 + 1 < k) {
        si = param_index(gran, r, c0 + 1, gs, spr);
        hi = code_of(x[(long) r * k + c0 + 1], scales[si], has_zeros ? zeros[si] : 0, nf4, qmin, qmax);
    }
    out[i] = (uchar) ((lo & 15) | ((hi & 15) << 4));
}

inline float dequant_elem(__global const uchar* codes, int type, int row, int col, int k, __global const float* scales,
        __global const int* zeros, int has_zeros, int gran, int gs, int spr) {
    int code = load_code(codes, type, row, col, k);
    int si = param_index(gran, row, col, gs, spr);
    if (type == T_NF4) return NF4_VALUES[code] * scales[si];
    return (float) (code - (has_zeros ? zeros[si] : 0)) * scales[si];
}

__kernel void dequantize(__global const uchar* codes, int type, int rows, int k, __global const float* scales,
        __global const int* zeros, int has_zeros, int gran, int gs, int spr, __global float* y) {
    int i = get_global_id(0);
    if (i >= rows * k) return;
    y[i] = dequant_elem(codes, type, i / k, i % k, k, scales, zeros, has_zeros, gran, gs, spr);
}

// ---- GEMMs: y [M, N] = x [M, K] . w [N, K]^T; 64 x 64 tiles, 16 x 16 work-items of 4 x 4 outputs ----

#define TM 64
#define TN 64
#define TK 16

// w element (n, k): F32/F16/BF16 (optionally stored transposed as [K, N]) or quantized codes
inline float load_w(__global const void* w, int wtype, int wtrans, int n, int k, int N, int K,
        __global const float* ws, __global const int* wz, int whasz, int wgran, int wgs, int wspr) {
    if (wtype <= T_BF16) return load_float(w, wtype, wtrans ? (long) k * N + n : (long) n * K + k);
    return dequant_elem((__global const uchar*) w, wtype, n, k, K, ws, wz, whasz, wgran, wgs, wspr);
}

__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void gemm_f32(__global const float* x, int M, int N, int K, __global const void* w, int wtype, int wtrans,
        __global const float* ws, __global const int* wz, int whasz, int wgran, int wgs, int wspr,
        __global const float* bias, int has_bias, int accumulate, __global float* y) {
    __local float As[TK][TM + 1];
    __local float Bs[TK][TN + 1];
    int tx = get_local_id(0);
    int ty = get_local_id(1);
    int tid = ty * 16 + tx;
    int m0 = get_group_id(1) * TM;
    int n0 = get_group_id(0) * TN;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TK) {
        for (int l = 0; l < 4; l++) {
            int e = tid + l * 256;
            int mm = e / TK;
            int kk = e % TK;
            int gm = m0 + mm;
            int gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < K) ? x[(long) gm * K + gk] : 0.0f;
            int gn = n0 + mm;
            Bs[kk][mm] = (gn < N && gk < K) ? load_w(w, wtype, wtrans, gn, gk, N, K, ws, wz, whasz, wgran, wgs, wspr)
                                            : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float a[4];
            float b[4];
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = acc[i][j];
            if (accumulate) v = y[(long) m * N + n] + v;
            if (has_bias) v += bias[n];
            y[(long) m * N + n] = v;
        }
    }
}

#define QK 32

inline int pack4(__global const uchar* c, int type, int row, int k0, int kend, int k) {
    if (k0 + 3 < kend) {
        // whole words: four I8 codes are already the packed int; four INT4 codes are two bytes
        if (type == T_I8) return as_int(vload4(0, c + (long) row * k + k0));
        if (type == T_INT4 && (k0 & 1) == 0) {
            __global const uchar* q = c + (long) row * ((k + 1) >> 1) + (k0 >> 1);
            int b0 = q[0];
            int b1 = q[1];
            return ((((b0 & 15) ^ 8) - 8) & 255) | (((((b0 >> 4) ^ 8) - 8) & 255) << 8)
                    | (((((b1 & 15) ^ 8) - 8) & 255) << 16) | (((((b1 >> 4) ^ 8) - 8) & 255) << 24);
        }
    }
    int p = 0;
    for (int t = 0; t < 4; t++) {
        int kk = k0 + t;
        int v = kk < kend ? load_code(c, type, row, kk, k) : 0;
        p |= (v & 255) << (8 * t);
    }
    return p;
}

inline float qscale(__global const float* s, int gran, int row, int g, int spr) {
    return s[gran == G_TENSOR ? 0 : gran == G_ROW ? row : row * spr + g];
}

// Integer GEMM of signed symmetric codes (I8 or INT4, both fit a signed byte): four codes per int,
// dot4 (dp4a / cl_khr_integer_dot_product / portable). gs: group size (multiple of QK) or 0 for
// none. mode 0 writes the int32 accumulators ([G, M, N] when grouped), mode 1 the dequantized F32.
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void qgemm_s8(__global const uchar* a, int atype, __global const uchar* w, int wtype, int M, int N, int K, int gs,
        int mode, __global const float* sa, int agran, int aspr, __global const float* sw, int wgran, int wspr,
        __global const float* bias, int has_bias, __global int* acc_out, __global float* y) {
    __local int As[TM][QK / 4 + 1];
    __local int Bs[TN][QK / 4 + 1];
    int tx = get_local_id(0);
    int ty = get_local_id(1);
    int tid = ty * 16 + tx;
    int m0 = get_group_id(1) * TM;
    int n0 = get_group_id(0) * TN;
    int gsz = gs > 0 ? gs : K;
    float out[4][4];
    int acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[i][j] = 0.0f;
    int gi = 0;
    for (int g0 = 0; g0 < K; g0 += gsz, gi++) {
        int gend = min(K, g0 + gsz);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = 0;
        for (int k0 = g0; k0 < gend; k0 += QK) {
            for (int l = 0; l < 2; l++) {
                int e = tid + l * 256;
                int rr = e / (QK / 4);
                int q = e % (QK / 4);
                int gm = m0 + rr;
                As[rr][q] = gm < M ? pack4(a, atype, gm, k0 + 4 * q, gend, K) : 0;
                int gn = n0 + rr;
                Bs[rr][q] = gn < N ? pack4(w, wtype, gn, k0 + 4 * q, gend, K) : 0;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int q = 0; q < QK / 4; q++) {
                int av[4];
                int bv[4];
                for (int i = 0; i < 4; i++) av[i] = As[ty + 16 * i][q];
                for (int j = 0; j < 4; j++) bv[j] = Bs[tx + 16 * j][q];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) acc[i][j] = dot4(av[i], bv[j], acc[i][j]);
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        for (int i = 0; i < 4; i++) {
            int m = m0 + ty + 16 * i;
            if (m >= M) continue;
            for (int j = 0; j < 4; j++) {
                int n = n0 + tx + 16 * j;
                if (n >= N) continue;
                if (mode == 0) {
                    acc_out[((long) gi * M + m) * N + n] = acc[i][j];
                } else {
                    out[i][j] += (float) acc[i][j] * qscale(sa, agran, m, gi, aspr) * qscale(sw, wgran, n, gi, wspr);
                }
            }
        }
    }
    if (mode == 1) {
        for (int i = 0; i < 4; i++) {
            int m = m0 + ty + 16 * i;
            if (m >= M) continue;
            for (int j = 0; j < 4; j++) {
                int n = n0 + tx + 16 * j;
                if (n >= N) continue;
                y[(long) m * N + n] = out[i][j] + (has_bias ? bias[n] : 0.0f);
            }
        }
    }
}

// Integer GEMM for any codes: zero points subtracted on load, plain int32 multiply-add; groups of
// any size. Same modes as qgemm_s8.
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void qgemm_generic(__global const uchar* a, int atype, __global const int* za, int ahasz,
        __global const uchar* w, int wtype, __global const int* zw, int whasz, int M, int N, int K, int gs, int mode,
        __global const float* sa, int agran, int aspr, __global const float* sw, int wgran, int wspr,
        __global const float* bias, int has_bias, __global int* acc_out, __global float* y) {
    __local int As[TK][TM + 1];
    __local int Bs[TK][TN + 1];
    int tx = get_local_id(0);
    int ty = get_local_id(1);
    int tid = ty * 16 + tx;
    int m0 = get_group_id(1) * TM;
    int n0 = get_group_id(0) * TN;
    int gsz = gs > 0 ? gs : K;
    float out[4][4];
    int acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[i][j] = 0.0f;
    int gi = 0;
    for (int g0 = 0; g0 < K; g0 += gsz, gi++) {
        int gend = min(K, g0 + gsz);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = 0;
        for (int k0 = g0; k0 < gend; k0 += TK) {
            for (int l = 0; l < 4; l++) {
                int e = tid + l * 256;
                int rr = e / TK;
                int kk = e % TK;
                int gk = k0 + kk;
                int gm = m0 + rr;
                int va = 0;
                if (gm < M && gk < gend) {
                    va = load_code(a, atype, gm, gk, K);
                    if (ahasz) va -= za[agran == G_TENSOR ? 0 : agran == G_ROW ? gm : gm * aspr + gi];
                }
                As[kk][rr] = va;
                int gn = n0 + rr;
                int vw = 0;
                if (gn < N && gk < gend) {
                    vw = load_code(w, wtype, gn, gk, K);
                    if (whasz) vw -= zw[wgran == G_TENSOR ? 0 : wgran == G_ROW ? gn : gn * wspr + gi];
                }
                Bs[kk][rr] = vw;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int kk = 0; kk < TK; kk++) {
                int av[4];
                int bv[4];
                for (int i = 0; i < 4; i++) av[i] = As[kk][ty + 16 * i];
                for (int j = 0; j < 4; j++) bv[j] = Bs[kk][tx + 16 * j];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        for (int i = 0; i < 4; i++) {
            int m = m0 + ty + 16 * i;
            if (m >= M) continue;
            for (int j = 0; j < 4; j++) {
                int n = n0 + tx + 16 * j;
                if (n >= N) continue;
                if (mode == 0) {
                    acc_out[((long) gi * M + m) * N + n] = acc[i][j];
                } else {
                    out[i][j] += (float) acc[i][j] * qscale(sa, agran, m, gi, aspr) * qscale(sw, wgran, n, gi, wspr);
                }
            }
        }
    }
    if (mode == 1) {
        for (int i = 0; i < 4; i++) {
            int m = m0 + ty + 16 * i;
            if (m >= M) continue;
            for (int j = 0; j < 4; j++) {
                int n = n0 + tx + 16 * j;
                if (n >= N) continue;
                y[(long) m * N + n] = out[i][j] + (has_bias ? bias[n] : 0.0f);
            }
        }
    }
}

// ---- CPU-shaped F32 GEMM (PoCL and other CPU devices): no barriers, no local memory; each
// work-item computes a 4 x 4 block with explicit float8 vectors along K, which maps onto SIMD ----
__kernel void gemm_f32_cpu(__global const float* x, int M, int N, int K, __global const float* w,
        __global const float* bias, int has_bias, int accumulate, __global float* y) {
    int n0 = get_global_id(0) * 4;
    int m0 = get_global_id(1) * 4;
    if (n0 >= N || m0 >= M) return;
    int mr[4];
    int nr[4];
    for (int i = 0; i < 4; i++) {
        mr[i] = min(m0 + i, M - 1);
        nr[i] = min(n0 + i, N - 1);
    }
    float8 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = (float8) (0.0f);
    int k8 = K & ~7;
    for (int k = 0; k < k8; k += 8) {
        float8 a[4];
        float8 b[4];
        for (int i = 0; i < 4; i++) a[i] = vload8(0, x + (long) mr[i] * K + k);
        for (int j = 0; j < 4; j++) b[j] = vload8(0, w + (long) nr[j] * K + k);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + i;
        if (m >= M) break;
        for (int j = 0; j < 4; j++) {
            int n = n0 + j;
            if (n >= N) break;
            float8 v8 = acc[i][j];
            float v = ((v8.s0 + v8.s1) + (v8.s2 + v8.s3)) + ((v8.s4 + v8.s5) + (v8.s6 + v8.s7));
            for (int k = k8; k < K; k++) v += x[(long) m * K + k] * w[(long) n * K + k];
            if (accumulate) v = y[(long) m * N + n] + v;
            if (has_bias) v += bias[n];
            y[(long) m * N + n] = v;
        }
    }
}

// sixteen signed codes from k (I8, or INT4 with k even) as int16, in k order
inline int16 load16(__global const uchar* c, int type, int row, int k, int K) {
    if (type == T_I8) return convert_int16(vload16(0, (__global const char*) (c + (long) row * K + k)));
    char8 s = as_char8(vload8(0, c + (long) row * ((K + 1) >> 1) + (k >> 1)));
    char8 lo = (s << (char8) 4) >> (char8) 4;
    char8 hi = s >> (char8) 4;
    return convert_int16(shuffle2(lo, hi, (uchar16) (0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)));
}

inline int hsum16(int16 v) {
    int8 a = v.lo + v.hi;
    int4 b = a.lo + a.hi;
    int2 c = b.lo + b.hi;
    return c.x + c.y;
}

// CPU-shaped byte GEMM: no barriers or local memory, a 4 x 4 block per work-item, int16 vectors
// along K (exact: int32 lanes, summed at the group end); same modes as qgemm_s8
__kernel void qgemm_s8_cpu(__global const uchar* a, int atype, __global const uchar* w, int wtype, int M, int N, int K,
        int gs, int mode, __global const float* sa, int agran, int aspr, __global const float* sw, int wgran, int wspr,
        __global const float* bias, int has_bias, __global int* acc_out, __global float* y) {
    int n0 = get_global_id(0) * 4;
    int m0 = get_global_id(1) * 4;
    if (n0 >= N || m0 >= M) return;
    int mr[4];
    int nr[4];
    for (int i = 0; i < 4; i++) {
        mr[i] = min(m0 + i, M - 1);
        nr[i] = min(n0 + i, N - 1);
    }
    int gsz = gs > 0 ? gs : K;
    float out[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[i][j] = 0.0f;
    int gi = 0;
    for (int g0 = 0; g0 < K; g0 += gsz, gi++) {
        int gend = min(K, g0 + gsz);
        int16 acc[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = (int16) (0);
        int k = g0;
        if ((g0 & 1) == 0) {
            for (; k + 16 <= gend; k += 16) {
                int16 av[4];
                int16 bv[4];
                for (int i = 0; i < 4; i++) av[i] = load16(a, atype, mr[i], k, K);
                for (int j = 0; j < 4; j++) bv[j] = load16(w, wtype, nr[j], k, K);
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
            }
        }
        int sums[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) sums[i][j] = hsum16(acc[i][j]);
        for (; k < gend; k++) {
            for (int i = 0; i < 4; i++) {
                int av = load_code(a, atype, mr[i], k, K);
                for (int j = 0; j < 4; j++) sums[i][j] += av * load_code(w, wtype, nr[j], k, K);
            }
        }
        for (int i = 0; i < 4; i++) {
            int m = m0 + i;
            if (m >= M) break;
            for (int j = 0; j < 4; j++) {
                int n = n0 + j;
                if (n >= N) break;
                if (mode == 0) {
                    acc_out[((long) gi * M + m) * N + n] = sums[i][j];
                } else {
                    out[i][j] += (float) sums[i][j] * qscale(sa, agran, m, gi, aspr) * qscale(sw, wgran, n, gi, wspr);
                }
            }
        }
    }
    if (mode == 1) {
        for (int i = 0; i < 4; i++) {
            int m = m0 + i;
            if (m >= M) break;
            for (int j = 0; j < 4; j++) {
                int n = n0 + j;
                if (n >= N) break;
                y[(long) m * N + n] = out[i][j] + (has_bias ? bias[n] : 0.0f);
            }
        }
    }
}
