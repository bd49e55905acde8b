/* avx2_lowp.h — BF16 and INT8 kernels for AVX2 + FMA, a template compiled three times:
 *
 *   avx2_lowp.c       -mavx2 -mfma: the dot products emulated exactly, see avx512_lowp.h:
 *                     BF16 halves shifted into F32 and FMA'd, odd element first; INT8 bytes
 *                     widened to 16 bits and vpmaddwd'd, exact int32;
 *   avx_vnni.c        + -mavxvnni, LOWP_VNNI = _mm256_dpbusd_avx_epi32 (VEX vpdpbusd ymm):
 *                     INT8 only, one instruction per 32 weight bytes (u8 x s8, 4 products
 *                     summed into each int32 lane, no saturation: the same integer sums);
 *   avx_vnni_evex.c   + -mavx512vl -mavx512vnni, LOWP_VNNI = _mm256_dpbusd_epi32: the same
 *                     code EVEX-encoded, so CPUs with AVX-512 VNNI but no AVX-VNNI (Zen 4)
 *                     can test the AVX-VNNI kernel's arithmetic against the scalar oracle.
 *
 * Same layouts and row handling as avx512_lowp.h with 8-lane vectors and 16 registers:
 * batch 1 runs a whole panel (up to 8 accumulators); groups of rows run 16-output strips
 * (R x 2 accumulators, R <= 4), each weight vector feeding R dot products.
 */
#ifndef TMLP_AVX2_LOWP_H
#define TMLP_AVX2_LOWP_H
#include "kernels.h"
#include "vmath_avx2.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The activations other than NONE and RELU, out of line, a block per call (avx2.c). */
static __attribute__((noinline)) void act_vecs(tmlp_epilogue ep, __m256 *t, int n)
{
    tmlp_v8_act_n(ep, t, n);
}

/* NONE or RELU, in registers (the only ones that reach store8) */
ALWAYS_INLINE __m256 activate(tmlp_epilogue ep, __m256 t)
{
    return ep.act == TMLP_ACT_RELU ? _mm256_max_ps(t, _mm256_setzero_ps()) : t;
}
#define PF_BYTES 8192

ALWAYS_INLINE __m256 dot_bf16(__m256 acc, __m256 xo, __m256 xe, __m256i w)
{
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    acc = _mm256_fmadd_ps(xo, _mm256_castsi256_ps(_mm256_and_si256(w, hi)), acc);
    return _mm256_fmadd_ps(xe, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)), acc);
}

ALWAYS_INLINE __m256i dot_u8s8(__m256i acc, __m256i xl, __m256i xh, __m256i w)
{
    const __m256i wl = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8), wh = _mm256_srai_epi16(w, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(xl, wl), _mm256_madd_epi16(xh, wh)));
}

static __m256i lane_mask(int64_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int n = left > 8 ? 8 : (left < 0 ? 0 : (int)left);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

ALWAYS_INLINE void store8(float *y, __m256 t, int64_t left, tmlp_epilogue ep)
{
    t = activate(ep, t);
    if (left >= 8) _mm256_storeu_ps(y, t);
    else if (left > 0) _mm256_maskstore_ps(y, lane_mask(left), t);
}

/* 1 in the copy whose epilogue calls act_vecs: there a strip finishes every output of its
 * block before the one call, so no accumulator is live across it (avx2.c, calls_act). */
ALWAYS_INLINE int calls_act(tmlp_epilogue ep)
{
    return ep.act != TMLP_ACT_NONE && ep.act != TMLP_ACT_RELU;
}

/* The R x n8 block o (outputs before activation; R n8 <= 8), activated in one call and
 * stored, row stride out. */
ALWAYS_INLINE void store_block(int R, int n8, __m256 *o, float *y, int64_t out, int64_t c,
                               int64_t valid, tmlp_epilogue ep)
{
    act_vecs(ep, o, R * n8);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++)
            store8(y + r * out + c + 8 * v, o[r * n8 + v], valid - c - 8 * v, TMLP_EPILOGUE_NONE);
}

#ifndef LOWP_VNNI /* the VNNI copies are INT8 only */
/* --- BF16 ---------------------------------------------------------------------------- */

/* R rows against columns [c, c + 8 n8) of a panel of width wp (layout [t][wp][2]). */
ALWAYS_INLINE void strip_bf16(int R, int n8, const uint16_t *w, int64_t np, int64_t wp, int64_t c,
                              const uint32_t *xb, int64_t out, const float *b, float *y,
                              int64_t valid, tmlp_epilogue ep)
{
    __m256 acc[4][8];
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) acc[r][v] = _mm256_setzero_ps();
    for (int64_t t = 0; t < np; t++) {
        const uint16_t *wt = w + (t * wp + c) * 2;
        if (R == 1)
#pragma GCC unroll 4
            for (int v = 0; v < n8 / 2; v++) _mm_prefetch((const char *)wt + PF_BYTES + 64 * v, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m256i xr = _mm256_set1_epi32((int)xb[r * np + t]);
            const __m256 xo = _mm256_castsi256_ps(_mm256_and_si256(xr, hi));
            const __m256 xe = _mm256_castsi256_ps(_mm256_slli_epi32(xr, 16));
#pragma GCC unroll 8
            for (int v = 0; v < n8; v++)
                acc[r][v] = dot_bf16(acc[r][v], xo, xe, _mm256_load_si256((const __m256i *)(wt + 16 * v)));
        }
    }
    if (calls_act(ep)) {
        __m256 o[8];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 8
            for (int v = 0; v < n8; v++)
                o[r * n8 + v] = _mm256_add_ps(acc[r][v], _mm256_load_ps(b + c + 8 * v));
        store_block(R, n8, o, y, out, c, valid, ep);
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++)
            store8(y + r * out + c + 8 * v, _mm256_add_ps(acc[r][v], _mm256_load_ps(b + c + 8 * v)),
                   valid - c - 8 * v, ep);
}

/* x -> bf16, 8 at a time with exactly tmlp_f32_to_bf16's bits: round to nearest even,
 * (u + 0x7fff + bit 16) >> 16; a NaN keeps its top half with the quiet bit set. The scalar
 * loop took ~10% of a batch-1 forward of 784-512-512-10 (1,808 values through a branch). */
static void bf16_row(const float *x, int64_t in, int64_t kp, uint32_t *dst)
{
    uint16_t *d = (uint16_t *)dst;
    int64_t k = 0;
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i r = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), q = _mm256_set1_epi32(0x40);
    for (; k + 8 <= in; k += 8) {
        const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + k));
        const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
        const __m256i hi = _mm256_srli_epi32(u, 16);
        const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, r), _mm256_and_si256(hi, one)), 16);
        const __m256i v = _mm256_blendv_epi8(rounded, _mm256_or_si256(hi, q), nan);
        /* 32 -> 16 bits (values <= 0xffff: no saturation); packus works per 128-bit lane */
        const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0xD8);
        _mm_storeu_si128((__m128i *)(d + k), _mm256_castsi256_si128(p16));
    }
    for (; k < in; k++) d[k] = tmlp_f32_to_bf16(x[k]);
    for (; k < kp; k++) d[k] = 0;
}

ALWAYS_INLINE void panel_bf16(int n8, const uint16_t *w, int64_t np, const uint32_t *xb, int64_t out,
                              const float *b, float *y, int64_t rows, int64_t valid, tmlp_epilogue ep)
{
    const int64_t wp = 8 * n8;
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
        for (int64_t c = 0; c < wp; c += 16) strip_bf16(4, 2, w, np, wp, c, xb + r * np, out, b, y + r * out, valid, ep);
    const int64_t left = rows - r;
    if (left == 1) {
        strip_bf16(1, n8, w, np, wp, 0, xb + r * np, out, b, y + r * out, valid, ep);
        return;
    }
    for (int64_t c = 0; left > 1 && c < wp; c += 16) {
        if (left == 3) strip_bf16(3, 2, w, np, wp, c, xb + r * np, out, b, y + r * out, valid, ep);
        else strip_bf16(2, 2, w, np, wp, c, xb + r * np, out, b, y + r * out, valid, ep);
    }
}

/* One panel of width wp = 8 * n8 for lowp_driver.h (n8 a constant in each case). */
ALWAYS_INLINE void panel_bf16_w(int64_t wp, const uint16_t *w, int64_t np, const uint32_t *xb,
                                int64_t out, const float *b, float *y, int64_t rows, int64_t valid,
                                tmlp_epilogue ep)
{
    switch (wp / 8) {
    case 8: panel_bf16(8, w, np, xb, out, b, y, rows, valid, ep); break;
    case 6: panel_bf16(6, w, np, xb, out, b, y, rows, valid, ep); break;
    case 4: panel_bf16(4, w, np, xb, out, b, y, rows, valid, ep); break;
    default: panel_bf16(2, w, np, xb, out, b, y, rows, valid, ep); break;
    }
}

#endif

/* --- INT8 ---------------------------------------------------------------------------- */

/* The same dot product times 256, one instruction shorter: the weight bytes are put in the
 * high byte of each 16-bit lane (odd ones masked in place, even ones shifted up) instead of
 * being sign-extended into the low byte (two shifts), so each 16-bit weight is exactly
 * 256 w. Every term is then a multiple of 256 and |a 32-lane step| <= 4 * 255 * 128 * 256
 * < 2^25, so STEP256_T = 32 steps stay below 2^30 before they are shifted down (exactly) and
 * moved into the real sum (strip_int8). Measured: see docs/kernels.md, section 7. */
#define STEP256_T 32
ALWAYS_INLINE __m256i dot_u8s8_x256(__m256i acc, __m256i xl, __m256i xh, __m256i w)
{
    const __m256i hi8 = _mm256_set1_epi16((short)0xff00);
    const __m256i wl = _mm256_slli_epi16(w, 8), wh = _mm256_and_si256(w, hi8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(xl, wl), _mm256_madd_epi16(xh, wh)));
}

ALWAYS_INLINE void strip_int8(int R, int n8, const int8_t *w, int64_t nq, int64_t wp, int64_t c,
                              const uint32_t *xq, const float *sx, const int32_t *zx, int64_t out,
                              const float *b, const float *ws, const int32_t *wsum, float *y,
                              int64_t valid, tmlp_epilogue ep)
{
    __m256i acc[4][8];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) acc[r][v] = _mm256_setzero_si256();
#ifdef LOWP_VNNI
    /* acc += sum of 4 u8 x s8 products per lane, exact in int32 (|sum| <= TMLP_LOWP_MAX_IN *
     * 255 * 128 < 2^31, kernels.h): the emulation's sums, one instruction per vector */
    for (int64_t t = 0; t < nq; t++) {
        const int8_t *wt = w + (t * wp + c) * 4;
        if (R == 1)
#pragma GCC unroll 4
            for (int v = 0; v < n8 / 2; v++) _mm_prefetch((const char *)wt + PF_BYTES + 64 * v, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m256i xr = _mm256_set1_epi32((int)xq[r * nq + t]);
#pragma GCC unroll 8
            for (int v = 0; v < n8; v++)
                acc[r][v] = LOWP_VNNI(acc[r][v], xr, _mm256_load_si256((const __m256i *)(wt + 32 * v)));
        }
    }
#else
    __m256i part[4][8];
    const __m256i lo8 = _mm256_set1_epi32(0x00ff00ff);
    for (int64_t t0 = 0; t0 < nq; t0 += STEP256_T) {
        const int64_t t1 = t0 + STEP256_T < nq ? t0 + STEP256_T : nq;
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 8
            for (int v = 0; v < n8; v++) part[r][v] = _mm256_setzero_si256();
        for (int64_t t = t0; t < t1; t++) {
            const int8_t *wt = w + (t * wp + c) * 4;
            if (R == 1)
#pragma GCC unroll 4
                for (int v = 0; v < n8 / 2; v++) _mm_prefetch((const char *)wt + PF_BYTES + 64 * v, _MM_HINT_T0);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const __m256i xr = _mm256_set1_epi32((int)xq[r * nq + t]);
                const __m256i xl = _mm256_and_si256(xr, lo8), xh = _mm256_srli_epi16(xr, 8);
#pragma GCC unroll 8
                for (int v = 0; v < n8; v++)
                    part[r][v] = dot_u8s8_x256(part[r][v], xl, xh, _mm256_load_si256((const __m256i *)(wt + 32 * v)));
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 8
            for (int v = 0; v < n8; v++) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_srai_epi32(part[r][v], 8));
    }
#endif
    __m256 o[8]; /* the block's outputs before activation (as tmlp_q8_out), row r at r n8 */
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const __m256i z = _mm256_set1_epi32(zx[r]);
        const __m256 s = _mm256_set1_ps(sx[r]);
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) {
            const int64_t j = c + 8 * v;
            const __m256i cc = _mm256_sub_epi32(acc[r][v], _mm256_mullo_epi32(z, _mm256_load_si256((const __m256i *)(wsum + j))));
            const __m256 sc = _mm256_mul_ps(s, _mm256_load_ps(ws + j));
            o[r * n8 + v] = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(cc), sc), _mm256_load_ps(b + j));
            if (!calls_act(ep)) store8(y + r * out + j, o[r * n8 + v], valid - j, ep);
        }
    }
    if (calls_act(ep)) store_block(R, n8, o, y, out, c, valid, ep);
}

static void q8_row(const float *x, int64_t in, int64_t kp, uint8_t *q, float *sx, int32_t *zero)
{
    __m256 lo = _mm256_set1_ps(x[0]), hi = lo;
    int64_t k = 0;
    for (; k + 8 <= in; k += 8) {
        const __m256 v = _mm256_loadu_ps(x + k);
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
    }
    float a[8], c[8], inv;
    _mm256_storeu_ps(a, lo);
    _mm256_storeu_ps(c, hi);
    float l = a[0], h = c[0];
    for (int i = 1; i < 8; i++) {
        l = a[i] < l ? a[i] : l;
        h = c[i] > h ? c[i] : h;
    }
    for (int64_t i = k; i < in; i++) {
        l = x[i] < l ? x[i] : l;
        h = x[i] > h ? x[i] : h;
    }
    tmlp_q8_params(l, h, sx, &inv, zero);
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i vz = _mm256_set1_epi32(*zero);
    for (k = 0; k + 16 <= in; k += 16) {
        __m256i i0 = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), vinv)), vz);
        __m256i i1 = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8), vinv)), vz);
        /* saturating packs clamp to [0, 255]; the lane order is fixed by the permute */
        __m256i w16 = _mm256_packs_epi32(i0, i1);            /* 0-3 8-11 | 4-7 12-15 */
        __m128i b8 = _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
        b8 = _mm_shuffle_epi32(b8, _MM_SHUFFLE(3, 1, 2, 0)); /* 0-3 4-7 8-11 12-15 */
        _mm_storeu_si128((__m128i *)(q + k), b8);
    }
    for (; k < in; k++) q[k] = tmlp_q8_one(x[k], inv, *zero);
    for (; k < kp; k++) q[k] = 0;
}

ALWAYS_INLINE void panel_int8(int n8, const int8_t *w, int64_t nq, const uint32_t *xq, const float *sx,
                              const int32_t *zx, int64_t out, const float *b, const float *ws,
                              const int32_t *wsum, float *y, int64_t rows, int64_t valid, tmlp_epilogue ep)
{
    const int64_t wp = 8 * n8;
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
        for (int64_t c = 0; c < wp; c += 16)
            strip_int8(4, 2, w, nq, wp, c, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep);
    const int64_t left = rows - r;
    if (left == 1) {
        strip_int8(1, n8, w, nq, wp, 0, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep);
        return;
    }
    for (int64_t c = 0; left > 1 && c < wp; c += 16) {
        if (left == 3)
            strip_int8(3, 2, w, nq, wp, c, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep);
        else
            strip_int8(2, 2, w, nq, wp, c, xq + r * nq, sx + r, zx + r, out, b, ws, wsum, y + r * out, valid, ep);
    }
}

ALWAYS_INLINE void panel_int8_w(int64_t wp, const int8_t *w, int64_t nq, const uint32_t *xq,
                                const float *sx, const int32_t *zx, int64_t out, const float *b,
                                const float *ws, const int32_t *wsum, float *y, int64_t rows,
                                int64_t valid, tmlp_epilogue ep)
{
    switch (wp / 8) {
    case 8: panel_int8(8, w, nq, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    case 6: panel_int8(6, w, nq, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    case 4: panel_int8(4, w, nq, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    default: panel_int8(2, w, nq, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep); break;
    }
}

#include "lowp_driver.h"
#endif
