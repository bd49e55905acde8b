/* avx512.c — the AVX-512F kernel (compiled alone with -mavx512f; dispatch.c calls it only
 * when cpuid reports AVX-512F).
 *
 * A panel is (in, wp) floats with wp = 16 * nv, nv in 1..4: at each k one 16-float load
 * per vector v gives W[j0 + 16v .. +16][k]. For a group of R rows of x:
 *
 *     acc[r][v] (R x nv zmm registers)  +=  broadcast(x[r][k]) * panel[k][16v .. 16v+16)
 *
 * - R = 4 for batches: 16 accumulators + 4 weight vectors + 1 broadcast of 32 registers;
 *   every weight vector loaded feeds 4 FMAs, so the panel streams once per 4 rows.
 * - R = 2 or 3 for the rows left over after the groups of 4 (one more pass, not R).
 * - R = 1 (batch 1, or 1 row left over): only nv <= 4 independent sums, fewer than the 2 FMA
 *   units x 4 cycles of latency need, so even and odd k go to two sets of accumulators
 *   (8 chains when nv = 4), added at the end, and the weights are prefetched ahead. On
 *   layers of 512 KB..1 MB, batch 1 runs two panels side by side instead (row1_pair).
 * Epilogue in registers: + bias, the activation (ReLU: max with 0, NaN -> 0 as in dense.c;
 * the others: act_vecs), masked store of the real outputs only. x may be unaligned
 * (broadcasts are scalar loads), and its rows may lie anywhere (tmlp_kernel_avx512_rows):
 * rows picked from a data set come from L3, so the batch path prefetches them (XPF_DIST,
 * docs/kernels.md).
 */
#include "kernels.h"
#include "vmath_avx512.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The activations other than NONE and RELU, out of line: one copy of the vector math for
 * the whole file rather than one per store site (~100 after unrolling), and one call per
 * block of outputs (kernels.h: the kernel's two copies). */
static __attribute__((noinline)) void act_vecs(tmlp_epilogue ep, __m512 *t, int n)
{
    tmlp_v16_act_n(ep, t, n);
}

/* NONE or RELU (max with 0: NaN -> 0), in registers: in the kernel's NONE/RELU copy nothing
 * else reaches the store, and that copy is the code of the ReLU-only kernel. */
ALWAYS_INLINE __m512 activate(tmlp_epilogue ep, __m512 t)
{
    return ep.act == TMLP_ACT_RELU ? _mm512_max_ps(t, _mm512_setzero_ps()) : t;
}

/* 1 in the copy whose epilogue calls act_vecs. Every vector register is caller-saved: an
 * accumulator still live across the call would be spilled, and GCC may then keep it in
 * memory for the whole k loop (it did in avx2.c: 1.5x at batch 1). So that copy adds the
 * bias to every accumulator of the block first, makes one call, then stores (store_block). */
ALWAYS_INLINE int calls_act(tmlp_epilogue ep)
{
    return ep.act != TMLP_ACT_NONE && ep.act != TMLP_ACT_RELU;
}

/* Store the first `left` lanes of t (all if left >= 16, none if left <= 0). */
ALWAYS_INLINE void store_lanes(float *y, __m512 t, int64_t left)
{
    if (left >= 16) _mm512_storeu_ps(y, t);
    else if (left > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << left) - 1), t);
}

/* The general copy's epilogue for R x nv accumulators: block row r goes to y + r ystep with
 * bias b + r bstep and valid - r vstep real outputs. */
ALWAYS_INLINE void store_block(int R, int nv, __m512 (*acc)[4], float *y, int64_t ystep,
                               const float *b, int64_t bstep, int64_t valid, int64_t vstep,
                               tmlp_epilogue ep)
{
    __m512 t[16];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            t[r * nv + v] = _mm512_add_ps(acc[r][v], _mm512_load_ps(b + r * bstep + 16 * v));
    act_vecs(ep, t, R * nv);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            store_lanes(y + r * ystep + 16 * v, t[r * nv + v], valid - r * vstep - 16 * v);
}

/* Batch 1 reads each weight once, so it runs at the speed weights arrive from L2 (or L3):
 * asking for them 2048 floats (8 KB, 32 k steps of a 64-wide panel) ahead made 784-128-10
 * 1.4x faster on an AMD Zen 5 (1.78 vs 2.47 us); 512..8192 measured, 2048 best
 * (docs/kernels.md). A prefetch past the end of the panel is harmless (never faults). */
#define PF_DIST 2048

/* Batch 1 on a layer whose packed panels take [PAIR_MIN_BYTES, PAIR_MAX_BYTES): full panels
 * two at a time (row1_pair), without software prefetch. Measured on an AMD Zen 5 (1 MB L2,
 * docs/kernels.md): 784->256 (802 KB) took ~9% less time this way; 784->128 (401 KB) and
 * 784->512 (1.6 MB, 2 MB with 512->512) were 10-15% slower, so they keep row1. A fixed rule
 * like the crossover, tuned on one CPU. */
/* Batches: rows of x prefetched this many floats ahead of the k loop (and a group's first
 * XPF_DIST floats while the group before it runs). Rows gathered from a 12.8 MB data set:
 * 503 -> ~480 us per 256-row forward of the shipped model on Zen 5; 64..512 all alike. */
#define XPF_DIST 128

#define PAIR_MIN_BYTES (512u * 1024u)
#define PAIR_MAX_BYTES (1024u * 1024u)

/* Add bias, activate, store nv vectors of one row: outputs [j0, j0 + 16nv) of y, clipped at
 * `valid` (the real outputs left in this panel). */
ALWAYS_INLINE void store_row(float *y, const float *b, __m512 *acc, int nv, int64_t valid, tmlp_epilogue ep)
{
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) {
        const __m512 t = activate(ep, _mm512_add_ps(acc[v], _mm512_load_ps(b + 16 * v)));
        const int64_t left = valid - 16 * v;
        if (left >= 16) _mm512_storeu_ps(y + 16 * v, t);
        else if (left > 0) _mm512_mask_storeu_ps(y + 16 * v, (__mmask16)((1u << left) - 1), t);
    }
}

/* One row of x against one panel, two accumulator sets (even / odd k). */
ALWAYS_INLINE void row1(const float *w, int64_t in, int nv, const float *x, const float *b,
                        float *y, int64_t valid, tmlp_epilogue ep)
{
    __m512 a0[4], a1[4];
    const int64_t wp = 16 * nv;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) a0[v] = a1[v] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 2 <= in; k += 2) {
        const __m512 x0 = _mm512_set1_ps(x[k]), x1 = _mm512_set1_ps(x[k + 1]);
        const float *wk = w + k * wp;
        /* the two k steps PF_DIST floats ahead: 2 * nv cache lines */
#pragma GCC unroll 8
        for (int v = 0; v < 2 * nv; v++) _mm_prefetch((const char *)(wk + PF_DIST + 16 * v), _MM_HINT_T0);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            a0[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(wk + 16 * v), a0[v]);
            a1[v] = _mm512_fmadd_ps(x1, _mm512_load_ps(wk + wp + 16 * v), a1[v]);
        }
    }
    if (k < in) {
        const __m512 x0 = _mm512_set1_ps(x[k]);
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) a0[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(w + k * wp + 16 * v), a0[v]);
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) a0[v] = _mm512_add_ps(a0[v], a1[v]);
    if (calls_act(ep)) store_block(1, nv, &a0, y, 0, b, 0, valid, 0, ep);
    else store_row(y, b, a0, nv, valid, ep);
}

/* Batch 1, two full panels at once (w = the first, the second 64 * in floats later): 8
 * independent sums as in row1, but one broadcast per k feeds both panels and the two
 * panels stream side by side. No software prefetch: see PAIR_MIN_BYTES. */
ALWAYS_INLINE void row1_pair(const float *w, int64_t in, const float *x, const float *b,
                             float *y, int64_t valid, tmlp_epilogue ep)
{
    __m512 a0[4], a1[4];
    const float *w1 = w + TMLP_PANEL * in;
#pragma GCC unroll 4
    for (int v = 0; v < 4; v++) a0[v] = a1[v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < in; k++) {
        const __m512 xk = _mm512_set1_ps(x[k]);
        const float *wk = w + k * TMLP_PANEL, *vk = w1 + k * TMLP_PANEL;
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            a0[v] = _mm512_fmadd_ps(xk, _mm512_load_ps(wk + 16 * v), a0[v]);
            a1[v] = _mm512_fmadd_ps(xk, _mm512_load_ps(vk + 16 * v), a1[v]);
        }
    }
    if (calls_act(ep)) {
        __m512 both[2][4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) both[0][v] = a0[v], both[1][v] = a1[v];
        store_block(2, 4, both, y, TMLP_PANEL, b, TMLP_PANEL, valid, TMLP_PANEL, ep);
        return;
    }
    store_row(y, b, a0, 4, valid, ep);
    store_row(y + TMLP_PANEL, b + TMLP_PANEL, a1, 4, valid - TMLP_PANEL, ep);
}

/* R rows of x (xr[0..R), R = 2, 3 or 4) against one panel; y rows have stride out. */
ALWAYS_INLINE void rows(int R, const float *w, int64_t in, int nv, const float *const *xr, int64_t out,
                        const float *b, float *y, int64_t valid, tmlp_epilogue ep)
{
    __m512 acc[4][4];
    const int64_t wp = 16 * nv;
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < in; k++) {
        if ((k & 15) == 0) /* one line of each row every 16 k, XPF_DIST floats ahead */
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) _mm_prefetch((const char *)(xr[r] + k + XPF_DIST), _MM_HINT_T0);
        const float *wk = w + k * wp;
        __m512 wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_ps(wk + 16 * v);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m512 xk = _mm512_set1_ps(xr[r][k]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(xk, wv[v], acc[r][v]);
        }
    }
    if (calls_act(ep)) {
        store_block(R, nv, acc, y, out, b, 0, valid, 0, ep);
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) store_row(y + r * out, b, acc[r], nv, valid, ep);
}

/* Every row of the batch against one panel of nv vectors (nv a constant after inlining):
 * groups of 4 rows, then the 1..3 left over in one group (a second stream of the panel,
 * not three). Row r of x is TMLP_XROW(x, xp, in, r): contiguous or the caller's pointer. */
ALWAYS_INLINE void panel_all_rows(const float *w, int64_t in, int nv, const float *x,
                                  const float *const *xp, int64_t out, const float *b, float *y,
                                  int64_t batch, int64_t valid, tmlp_epilogue ep)
{
    int64_t r = 0;
    const float *xr[4];
    for (; r + 4 <= batch; r += 4) {
        for (int i = 0; i < 4; i++) xr[i] = TMLP_XROW(x, xp, in, r + i);
        /* the next group's first XPF_DIST floats: rows' own prefetch starts that far in */
        for (int64_t i = r + 4; i < r + 8 && i < batch; i++)
            for (int64_t f = 0; f < XPF_DIST && f < in; f += 16)
                _mm_prefetch((const char *)(TMLP_XROW(x, xp, in, i) + f), _MM_HINT_T0);
        rows(4, w, in, nv, xr, out, b, y + r * out, valid, ep);
    }
    const int left = (int)(batch - r);
    for (int i = 0; i < left; i++) xr[i] = TMLP_XROW(x, xp, in, r + i);
    switch (left) {
    case 3: rows(3, w, in, nv, xr, out, b, y + r * out, valid, ep); break;
    case 2: rows(2, w, in, nv, xr, out, b, y + r * out, valid, ep); break;
    case 1: row1(w, in, nv, xr[0], b, y + r * out, valid, ep); break;
    default: break;
    }
}

/* Both entry points: x contiguous (xp NULL) or row pointers xp (x NULL). */
ALWAYS_INLINE void forward(const tmlp_packed *p, const float *x, const float *const *xp, float *y,
                           int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out;
    const size_t panel_bytes = p->layer_bytes; /* of the whole layer, even in a view */
    int64_t panel = 0;
    if (batch == 1 && panel_bytes >= PAIR_MIN_BYTES && panel_bytes < PAIR_MAX_BYTES)
        for (; panel + 1 < p->n_panels && tmlp_panel_width(p, panel + 1) == TMLP_PANEL; panel += 2)
            row1_pair(p->w + panel * TMLP_PANEL * in, in, TMLP_XROW(x, xp, in, 0),
                      p->bias + panel * TMLP_PANEL,
                      y + panel * TMLP_PANEL, out - panel * TMLP_PANEL, ep);
    for (; panel < p->n_panels; panel++) {
        const int64_t j0 = panel * TMLP_PANEL, valid = out - j0;
        const float *w = p->w + j0 * in, *b = p->bias + j0;
        switch (tmlp_panel_width(p, panel) / 16) {
        case 4: panel_all_rows(w, in, 4, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 3: panel_all_rows(w, in, 3, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 2: panel_all_rows(w, in, 2, x, xp, out, b, y + j0, batch, valid, ep); break;
        default: panel_all_rows(w, in, 1, x, xp, out, b, y + j0, batch, valid, ep); break;
        }
    }
}

TMLP_KERNEL_ENTRY_POINTS(avx512)

/* Sum of x[0..n) with 64-byte loads and 8 independent accumulators: a read as fast as
 * this core can stream (bench_mlp profile's bandwidth probe). x 64-byte aligned. */
float tmlp_stream_sum_avx512(const float *x, size_t n)
{
    __m512 a[8];
    for (int v = 0; v < 8; v++) a[v] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 128 <= n; i += 128)
#pragma GCC unroll 8
        for (int v = 0; v < 8; v++) a[v] = _mm512_add_ps(a[v], _mm512_load_ps(x + i + 16 * v));
    for (int v = 1; v < 8; v++) a[0] = _mm512_add_ps(a[0], a[v]);
    float s = _mm512_reduce_add_ps(a[0]);
    for (; i < n; i++) s += x[i];
    return s;
}

/* dst[i] = table[src[i]], i < n (forward_u8's preprocessing: a 256-entry float table), 16
 * lookups per step with the table in 16 zmm registers. vpermt2ps looks up 32 entries by the
 * low 5 bits of each index, so 8 of them cover the table; bits 5, 6 and 7 then pick one of
 * the 8 results in a 3-level tree of blends. A table lookup, so exactly the scalar loop's
 * values, at ~20 vector instructions per 16 pixels instead of 16 x (2 loads + 1 store). */
void tmlp_u8_lookup_avx512(const uint8_t *src, const float *table, float *dst, int64_t n)
{
    __m512 t[16];
    for (int c = 0; c < 16; c++) t[c] = _mm512_loadu_ps(table + 16 * c);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        __m512 r[8];
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++) r[c] = _mm512_permutex2var_ps(t[2 * c], v, t[2 * c + 1]);
        const __mmask16 b5 = _mm512_test_epi32_mask(v, _mm512_set1_epi32(32));
        const __mmask16 b6 = _mm512_test_epi32_mask(v, _mm512_set1_epi32(64));
        const __mmask16 b7 = _mm512_test_epi32_mask(v, _mm512_set1_epi32(128));
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) r[c] = _mm512_mask_blend_ps(b5, r[2 * c], r[2 * c + 1]);
        r[0] = _mm512_mask_blend_ps(b6, r[0], r[1]);
        r[1] = _mm512_mask_blend_ps(b6, r[2], r[3]);
        _mm512_storeu_ps(dst + i, _mm512_mask_blend_ps(b7, r[0], r[1]));
    }
    for (; i < n; i++) dst[i] = table[src[i]];
}
