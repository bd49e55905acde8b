/* avx512_lowp.h — the AVX-512 BF16 and INT8 kernels, written once and compiled twice:
 *
 *   avx512_native.c  LOWP_NATIVE 1, -mavx512bf16 -mavx512vnni: vdpbf16ps and vpdpbusd
 *   avx512_emu.c     LOWP_NATIVE 0, -mavx512bw: the same operations spelled out (BF16 as
 *                    F32 FMAs after shifting the halves into place; INT8 as vpmaddwd of
 *                    bytes widened to 16 bits, exact: no vpmaddubsw, which saturates)
 *
 * dispatch.c runs the native file only when cpuid reports AVX512_BF16, AVX512_VNNI and
 * AVX512BW, and the emulated one with AVX512BW. Layouts: kernels.h. One 32-bit lane holds
 * one output's weights for 2 (BF16) or 4 (INT8) consecutive k; a 64-output panel's k group
 * is 4 zmm, so one broadcast of x's matching 2 or 4 values feeds 4 dot instructions.
 *
 * Rows of x are first converted (BF16, round to nearest even) or quantized (INT8, per row,
 * tmlp_q8_params) into a 64 KB stack buffer, up to 64 rows at a time (lowp_driver.h); then
 * each panel is streamed once per group of 4 rows, as in the F32 kernel (avx512.c). Batch 1 splits the
 * k groups over two accumulator sets and prefetches ahead (the F32 kernel's reasons).
 */
#include "kernels.h"
#include "vmath_avx512.h"

#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The activations other than NONE and RELU, out of line, one call per block (avx512.c). */
static __attribute__((noinline)) void act_vecs(tmlp_epilogue ep, __m512 *t, int n)
{
    tmlp_v16_act_n(ep, t, n);
}

/* NONE or RELU, in registers (the only ones that reach store_vecs) */
ALWAYS_INLINE __m512 activate(tmlp_epilogue ep, __m512 t)
{
    return ep.act == TMLP_ACT_RELU ? _mm512_max_ps(t, _mm512_setzero_ps()) : t;
}

/* 1 in the copy whose epilogue calls act_vecs: there the rows functions finish every output
 * of the block (o, R x nv) before the one call, so no accumulator is live across it. */
ALWAYS_INLINE int calls_act(tmlp_epilogue ep)
{
    return ep.act != TMLP_ACT_NONE && ep.act != TMLP_ACT_RELU;
}
#define PF_BYTES 8192

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define LOWP_FN(name) CAT(CAT(tmlp_kernel_, LOWP_PREFIX), name)

/* --- the two dot products ------------------------------------------------------------ */

/* acc[i] += x.bf16[2i+1] * w.bf16[2i+1] + x.bf16[2i] * w.bf16[2i]   (odd first, as vdpbf16ps) */
ALWAYS_INLINE __m512 dot_bf16(__m512 acc, __m512i xr, __m512i w)
{
#if LOWP_NATIVE
    return _mm512_dpbf16_ps(acc, (__m512bh)xr, (__m512bh)w);
#else
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
    const __m512 xo = _mm512_castsi512_ps(_mm512_and_si512(xr, hi));
    const __m512 xe = _mm512_castsi512_ps(_mm512_slli_epi32(xr, 16));
    acc = _mm512_fmadd_ps(xo, _mm512_castsi512_ps(_mm512_and_si512(w, hi)), acc);
    return _mm512_fmadd_ps(xe, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), acc);
#endif
}

/* acc[i] += sum_{t<4} u8(x.byte[4i+t]) * s8(w.byte[4i+t])   exact in int32 */
ALWAYS_INLINE __m512i dot_u8s8(__m512i acc, __m512i xr, __m512i w)
{
#if LOWP_NATIVE
    return _mm512_dpbusd_epi32(acc, xr, w);
#else
    const __m512i xl = _mm512_and_si512(xr, _mm512_set1_epi32(0x00ff00ff)); /* x0, x2 as u16 */
    const __m512i xh = _mm512_srli_epi16(xr, 8);                              /* x1, x3 */
    const __m512i wl = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 8);        /* w0, w2 as s16 */
    const __m512i wh = _mm512_srai_epi16(w, 8);                              /* w1, w3 */
    return _mm512_add_epi32(acc, _mm512_add_epi32(_mm512_madd_epi16(xl, wl), _mm512_madd_epi16(xh, wh)));
#endif
}

/* Bias (already in t), activation, store the real outputs of one row: [0, 16nv) clipped at valid. */
ALWAYS_INLINE void store_vecs(float *y, __m512 *t, int nv, int64_t valid, tmlp_epilogue ep)
{
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        const __m512 u = activate(ep, t[v]);
        const int64_t left = valid - 16 * v;
        if (left >= 16) _mm512_storeu_ps(y + 16 * v, u);
        else if (left > 0) _mm512_mask_storeu_ps(y + 16 * v, (__mmask16)((1u << left) - 1), u);
    }
}

/* The general copy: activate the R x nv block o (row r at o + r nv) in one call, store it. */
ALWAYS_INLINE void store_block(int R, int nv, __m512 *o, float *y, int64_t out, int64_t valid,
                               tmlp_epilogue ep)
{
    act_vecs(ep, o, R * nv);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) store_vecs(y + r * out, o + r * nv, nv, valid, TMLP_EPILOGUE_NONE);
}

/* --- BF16 ---------------------------------------------------------------------------- */

/* Row x[0..in) as bf16 pairs: dst dword t = bf16(x[2t]) | bf16(x[2t+1]) << 16, 0 past in.
 * The same integer rounding as tmlp_f32_to_bf16. */
static void bf16_row(const float *x, int64_t in, int64_t kp, uint32_t *dst)
{
    uint16_t *d = (uint16_t *)dst;
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), quiet = _mm512_set1_epi32(0x40);
    int64_t k = 0;
    for (; k + 16 <= in; k += 16) {
        const __m512 v = _mm512_loadu_ps(x + k);
        const __m512i u = _mm512_castps_si512(v);
        const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one))), 16);
        r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), quiet));
        _mm256_storeu_si256((__m256i *)(d + k), _mm512_cvtepi32_epi16(r));
    }
    for (; k < in; k++) d[k] = tmlp_f32_to_bf16(x[k]);
    for (; k < kp; k++) d[k] = 0;
}

/* R rows (1..4) of bf16 pairs (stride np dwords) against one panel of nv vectors. */
ALWAYS_INLINE void rows_bf16(int R, const uint16_t *w, int64_t np, int nv, const uint32_t *xb,
                             int64_t out, const float *b, float *y, int64_t valid, tmlp_epilogue ep)
{
    __m512 acc[4][4], acc1[4];
    const int64_t wp2 = 32 * nv; /* u16 per k pair */
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        acc1[v] = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) acc[r][v] = _mm512_setzero_ps();
    }
    int64_t t = 0;
    if (R == 1) {
        for (; t + 2 <= np; t += 2) {
            const uint16_t *wt = w + t * wp2;
            const __m512i x0 = _mm512_set1_epi32((int)xb[t]), x1 = _mm512_set1_epi32((int)xb[t + 1]);
#pragma GCC unroll 8
            for (int v = 0; v < 2 * nv; v++) _mm_prefetch((const char *)wt + PF_BYTES + 64 * v, _MM_HINT_T0);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                acc[0][v] = dot_bf16(acc[0][v], x0, _mm512_load_si512(wt + 32 * v));
                acc1[v] = dot_bf16(acc1[v], x1, _mm512_load_si512(wt + wp2 + 32 * v));
            }
        }
    }
    for (; t < np; t++) {
        const uint16_t *wt = w + t * wp2;
        __m512i wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_si512(wt + 32 * v);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m512i xr = _mm512_set1_epi32((int)xb[r * np + t]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = dot_bf16(acc[r][v], xr, wv[v]);
        }
    }
    __m512 o[16]; /* outputs before activation, row r at o + r nv */
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const __m512 s = R == 1 ? _mm512_add_ps(acc[0][v], acc1[v]) : acc[r][v];
            o[r * nv + v] = _mm512_add_ps(s, _mm512_load_ps(b + 16 * v));
        }
        if (!calls_act(ep)) store_vecs(y + r * out, o + r * nv, nv, valid, ep);
    }
    if (calls_act(ep)) store_block(R, nv, o, y, out, valid, ep);
}

ALWAYS_INLINE void panel_bf16(const uint16_t *w, int64_t np, int nv, const uint32_t *xb, int64_t out,
                              const float *b, float *y, int64_t rows, int64_t valid, tmlp_epilogue ep)
{
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) rows_bf16(4, w, np, nv, xb + r * np, out, b, y + r * out, valid, ep);
    switch (rows - r) {
    case 3: rows_bf16(3, w, np, nv, xb + r * np, out, b, y + r * out, valid, ep); break;
    case 2: rows_bf16(2, w, np, nv, xb + r * np, out, b, y + r * out, valid, ep); break;
    case 1: rows_bf16(1, w, np, nv, xb + r * np, out, b, y + r * out, valid, ep); break;
    default: break;
    }
}

/* One panel of width wp = 16 * nv for lowp_driver.h (nv a constant in each case). */
ALWAYS_INLINE void panel_bf16_w(int64_t wp, const uint16_t *w, int64_t np, const uint32_t *xb,
                                int64_t out, const float *b, float *y, int64_t rows, int64_t valid,
                                tmlp_epilogue ep)
{
    switch (wp / 16) {
    case 4: panel_bf16(w, np, 4, xb, out, b, y, rows, valid, ep); break;
    case 3: panel_bf16(w, np, 3, xb, out, b, y, rows, valid, ep); break;
    case 2: panel_bf16(w, np, 2, xb, out, b, y, rows, valid, ep); break;
    default: panel_bf16(w, np, 1, xb, out, b, y, rows, valid, ep); break;
    }
}

/* --- INT8 ---------------------------------------------------------------------------- */

/* Quantize row x[0..in) into q[0..kp) (0 past in); its scale and zero point. The same
 * float operations as scalar_lowp.c (min/max are exact in any order). */
static void q8_row(const float *x, int64_t in, int64_t kp, uint8_t *q, float *sx, int32_t *zero)
{
    __m512 lo = _mm512_set1_ps(x[0]), hi = lo;
    int64_t k = 0;
    for (; k + 16 <= in; k += 16) {
        const __m512 v = _mm512_loadu_ps(x + k);
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
    }
    float l = _mm512_reduce_min_ps(lo), h = _mm512_reduce_max_ps(hi), inv;
    for (int64_t i = k; i < in; i++) {
        l = x[i] < l ? x[i] : l;
        h = x[i] > h ? x[i] : h;
    }
    tmlp_q8_params(l, h, sx, &inv, zero);
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i vz = _mm512_set1_epi32(*zero), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
    for (k = 0; k + 16 <= in; k += 16) {
        __m512i i = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv)); /* rne */
        i = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(i, vz), v0), v255);
        _mm_storeu_si128((__m128i *)(q + k), _mm512_cvtepi32_epi8(i));
    }
    for (; k < in; k++) q[k] = tmlp_q8_one(x[k], inv, *zero);
    for (; k < kp; k++) q[k] = 0;
}

/* R rows of quantized x (stride nq dwords) against one INT8 panel of nv vectors. */
ALWAYS_INLINE void rows_int8(int R, const int8_t *w, int64_t nq, int nv, const uint32_t *xq,
                             const float *sx, const int32_t *zx, int64_t out, const float *b,
                             const float *ws, const int32_t *wsum, float *y, int64_t valid, tmlp_epilogue ep)
{
    __m512i acc[4][4], acc1[4];
    const int64_t wp4 = 64 * nv; /* bytes per k quad */
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        acc1[v] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) acc[r][v] = _mm512_setzero_si512();
    }
    int64_t t = 0;
    if (R == 1) {
        for (; t + 2 <= nq; t += 2) {
            const int8_t *wt = w + t * wp4;
            const __m512i x0 = _mm512_set1_epi32((int)xq[t]), x1 = _mm512_set1_epi32((int)xq[t + 1]);
#pragma GCC unroll 8
            for (int v = 0; v < 2 * nv; v++) _mm_prefetch((const char *)wt + PF_BYTES + 64 * v, _MM_HINT_T0);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                acc[0][v] = dot_u8s8(acc[0][v], x0, _mm512_load_si512(wt + 64 * v));
                acc1[v] = dot_u8s8(acc1[v], x1, _mm512_load_si512(wt + wp4 + 64 * v));
            }
        }
    }
    for (; t < nq; t++) {
        const int8_t *wt = w + t * wp4;
        __m512i wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_si512(wt + 64 * v);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m512i xr = _mm512_set1_epi32((int)xq[r * nq + t]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = dot_u8s8(acc[r][v], xr, wv[v]);
        }
    }
    /* epilogue, as tmlp_q8_out: float(acc - z * wsum) * (sx * ws) + b */
    __m512 o[16]; /* outputs before activation, row r at o + r nv */
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const __m512i z = _mm512_set1_epi32(zx[r]);
        const __m512 s = _mm512_set1_ps(sx[r]);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            const __m512i a = R == 1 ? _mm512_add_epi32(acc[0][v], acc1[v]) : acc[r][v];
            const __m512i c = _mm512_sub_epi32(a, _mm512_mullo_epi32(z, _mm512_load_si512(wsum + 16 * v)));
            const __m512 sc = _mm512_mul_ps(s, _mm512_load_ps(ws + 16 * v));
            o[r * nv + v] = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(c), sc), _mm512_load_ps(b + 16 * v));
        }
        if (!calls_act(ep)) store_vecs(y + r * out, o + r * nv, nv, valid, ep);
    }
    if (calls_act(ep)) store_block(R, nv, o, y, out, valid, ep);
}

ALWAYS_INLINE void panel_int8(const int8_t *w, int64_t nq, int nv, const uint32_t *xq, const float *sx,
                              const int32_t *zx, int64_t out, const float *b, const float *ws,
                              const int32_t *wsum, float *y, int64_t rows, int64_t valid, tmlp_epilogue ep)
{
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
        rows_int8(4, w, nq, nv, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep);
    switch (rows - r) {
    case 3: rows_int8(3, w, nq, nv, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep); break;
    case 2: rows_int8(2, w, nq, nv, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep); break;
    case 1: rows_int8(1, w, nq, nv, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep); break;
    default: break;
    }
}

ALWAYS_INLINE void panel_int8_w(int64_t wp, const int8_t *w, int64_t nq, const uint32_t *xq,
                                const float *sx, const int32_t *zx, int64_t out, const float *b,
                                const float *ws, const int32_t *wsum, float *y, int64_t rows,
                                int64_t valid, tmlp_epilogue ep)
{
    switch (wp / 16) {
    case 4: panel_int8(w, nq, 4, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    case 3: panel_int8(w, nq, 3, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    case 2: panel_int8(w, nq, 2, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    default: panel_int8(w, nq, 1, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    }
}

#define LOWP_BF16_NAME LOWP_FN(_bf16)
#define LOWP_INT8_NAME LOWP_FN(_int8)
#include "lowp_driver.h"
