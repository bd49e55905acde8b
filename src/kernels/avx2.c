/* avx2.c — the AVX2 + FMA kernel (compiled alone with -mavx2 -mfma; dispatch.c calls it
 * only when cpuid reports both). Same scheme as avx512.c with 8-float vectors and 16
 * registers instead of 32:
 *
 * - R = 1 (batch 1, remainders): the whole panel, up to 8 ymm accumulators (wp = 64),
 *   one broadcast, weights as memory operands: 8 independent FMA chains; weights
 *   prefetched PF_DIST floats ahead.
 * - R = 4 for batches (R = 2 or 3 for the rows left over), over 16-output column strips: 4 x 2 accumulators +
 *   2 weight vectors + broadcasts fit in 16 registers; each weight vector feeds 4 FMAs.
 * Epilogue: + bias, the activation (ReLU: maxps, NaN -> 0; the others: act_vecs), masked
 * store of the real outputs.
 */
#include "kernels.h"
#include "vmath_avx2.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The activations other than NONE and RELU, out of line, a block of outputs per call (see
 * avx512.c). */
static __attribute__((noinline)) void act_vecs(tmlp_epilogue ep, __m256 *t, int n)
{
    tmlp_v8_act_n(ep, t, n);
}

/* NONE or RELU (max: NaN -> 0), in registers: the copy of the kernel where nothing else
 * reaches the store, which is the code of the ReLU-only kernel. */
ALWAYS_INLINE __m256 activate(tmlp_epilogue ep, __m256 t)
{
    return ep.act == TMLP_ACT_RELU ? _mm256_max_ps(t, _mm256_setzero_ps()) : t;
}

/* 1 in the copy whose epilogue calls act_vecs. Every vector register is caller-saved, so an
 * accumulator still live across that call is spilled, and GCC then kept half of the batch-1
 * loop's accumulators in memory for the whole k loop (1.5x the time). That copy therefore
 * adds the bias to every accumulator of the block first, which ends their live ranges, then
 * makes one call for the block, then stores. */
ALWAYS_INLINE int calls_act(tmlp_epilogue ep)
{
    return ep.act != TMLP_ACT_NONE && ep.act != TMLP_ACT_RELU;
}

/* Prefetch distance for batch 1, in floats: see avx512.c. */
#define PF_DIST 2048

/* Lane mask for the first `left` of 8 lanes (left may exceed 8 or be <= 0). */
static __m256i lane_mask(int64_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int n = left > 8 ? 8 : (left < 0 ? 0 : (int)left);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* Store the first `left` lanes of t (all 8 if left >= 8, none if left <= 0). */
ALWAYS_INLINE void store_lanes(float *y, __m256 t, int64_t left)
{
    if (left >= 8) _mm256_storeu_ps(y, t);
    else if (left > 0) _mm256_maskstore_ps(y, lane_mask(left), t);
}

ALWAYS_INLINE void store_vec(float *y, const float *b, __m256 acc, int64_t left, tmlp_epilogue ep)
{
    store_lanes(y, activate(ep, _mm256_add_ps(acc, _mm256_load_ps(b))), left);
}

/* One row against a panel of n8 vectors of 8 (n8 in 2, 4, 6, 8). */
ALWAYS_INLINE void row1(const float *w, int64_t in, int n8, const float *x, const float *b,
                        float *y, int64_t valid, tmlp_epilogue ep)
{
    __m256 acc[8];
    const int64_t wp = 8 * n8;
#pragma GCC unroll 8
    for (int v = 0; v < n8; v++) acc[v] = _mm256_setzero_ps();
    for (int64_t k = 0; k < in; k++) {
        const __m256 xk = _mm256_broadcast_ss(x + k);
        const float *wk = w + k * wp;
#pragma GCC unroll 4
        for (int v = 0; v < n8 / 2; v++) _mm_prefetch((const char *)(wk + PF_DIST + 16 * v), _MM_HINT_T0);
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) acc[v] = _mm256_fmadd_ps(xk, _mm256_load_ps(wk + 8 * v), acc[v]);
    }
    if (calls_act(ep)) {
        __m256 t[8];
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) t[v] = _mm256_add_ps(acc[v], _mm256_load_ps(b + 8 * v));
        act_vecs(ep, t, n8);
#pragma GCC unroll 8
        for (int v = 0; v < n8; v++) store_lanes(y + 8 * v, t[v], valid - 8 * v);
        return;
    }
#pragma GCC unroll 8
    for (int v = 0; v < n8; v++) store_vec(y + 8 * v, b + 8 * v, acc[v], valid - 8 * v, ep);
}

/* R rows (xr[0..R), R = 2, 3 or 4) against columns [c, c + 16) of a panel of width wp. */
ALWAYS_INLINE void rows_strip(int R, const float *w, int64_t in, int64_t wp, int64_t c,
                              const float *const *xr, int64_t out, const float *b, float *y,
                              int64_t valid, tmlp_epilogue ep)
{
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const float *wc = w + c;
    for (int64_t k = 0; k < in; k++) {
        const __m256 w0 = _mm256_load_ps(wc + k * wp), w1 = _mm256_load_ps(wc + k * wp + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m256 xk = _mm256_broadcast_ss(xr[r] + k);
            acc[r][0] = _mm256_fmadd_ps(xk, w0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(xk, w1, acc[r][1]);
        }
    }
    if (calls_act(ep)) {
        __m256 t[8]; /* row r, half h at 2r + h */
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            for (int h = 0; h < 2; h++)
                t[2 * r + h] = _mm256_add_ps(acc[r][h], _mm256_load_ps(b + c + 8 * h));
        act_vecs(ep, t, 2 * R);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            for (int h = 0; h < 2; h++)
                store_lanes(y + r * out + c + 8 * h, t[2 * r + h], valid - c - 8 * h);
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        store_vec(y + r * out + c, b + c, acc[r][0], valid - c, ep);
        store_vec(y + r * out + c + 8, b + c + 8, acc[r][1], valid - c - 8, ep);
    }
}

/* The batch loop: groups of 4 rows in 16-column strips, then the rest (rows_driver.h). */
#define ROWS_VEC 8
#include "rows_driver.h"

/* Both entry points: x contiguous (xp NULL) or row pointers xp (x NULL). */
ALWAYS_INLINE void forward(const tmlp_packed *p, const float *x, const float *const *xp, float *y,
                           int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out;
    for (int64_t panel = 0; panel < p->n_panels; panel++) {
        const int64_t j0 = panel * TMLP_PANEL, valid = out - j0;
        const float *w = p->w + j0 * in, *b = p->bias + j0;
        switch (tmlp_panel_width(p, panel) / 8) {
        case 8: panel_all_rows(w, in, 8, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 6: panel_all_rows(w, in, 6, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 4: panel_all_rows(w, in, 4, x, xp, out, b, y + j0, batch, valid, ep); break;
        default: panel_all_rows(w, in, 2, x, xp, out, b, y + j0, batch, valid, ep); break;
        }
    }
}

TMLP_KERNEL_ENTRY_POINTS(avx2)

/* Sum of x[0..n) with 32-byte loads and 8 accumulators (bandwidth probe; see avx512.c). */
float tmlp_stream_sum_avx2(const float *x, size_t n)
{
    __m256 a[8];
    for (int v = 0; v < 8; v++) a[v] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
#pragma GCC unroll 8
        for (int v = 0; v < 8; v++) a[v] = _mm256_add_ps(a[v], _mm256_load_ps(x + i + 8 * v));
    for (int v = 1; v < 8; v++) a[0] = _mm256_add_ps(a[0], a[v]);
    float t[8], s = 0;
    _mm256_storeu_ps(t, a[0]);
    for (int v = 0; v < 8; v++) s += t[v];
    for (; i < n; i++) s += x[i];
    return s;
}

/* dst[i] = table[src[i]], i < n (forward_u8's preprocessing: a 256-entry float table) on
 * AVX2: 8 bytes widened to 8 indices, one vgatherdps from the table (which stays in L1).
 * A table lookup, so exactly the scalar loop's values. */
void tmlp_u8_lookup_avx2(const uint8_t *src, const float *table, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i b = _mm_loadu_si128((const __m128i *)(src + i));
        const __m256i v0 = _mm256_cvtepu8_epi32(b), v1 = _mm256_cvtepu8_epi32(_mm_srli_si128(b, 8));
        _mm256_storeu_ps(dst + i, _mm256_i32gather_ps(table, v0, 4));
        _mm256_storeu_ps(dst + i + 8, _mm256_i32gather_ps(table, v1, 4));
    }
    for (; i < n; i++) dst[i] = table[src[i]];
}
