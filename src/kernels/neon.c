/* neon.c — the arm64 F32 kernel (Advanced SIMD, which every arm64 CPU has; built only for
 * aarch64 hosts, with the compiler's base -march). One kernel behind the names neon,
 * neon_dotprod and neon_bf16: the extensions change only the BF16 / INT8 paths (dispatch.c).
 *
 * The packed panels of kernels.h (64 outputs per panel, weights of input k contiguous) are
 * read 4 floats per q register. 32 vector registers:
 *
 * - R = 1 (batch 1, and a row left over): the whole panel at once, wp/4 accumulators
 *   (16 at wp = 64), x[k] broadcast (dup), 16 independent fmla chains per k; weights
 *   prefetched 1024 floats (4 KB) ahead.
 * - R = 4 for batches (2 or 3 for the rows left over), over 16-output column strips:
 *   4 x 4 accumulators + 4 weight vectors + 4 broadcasts = 24 registers; each weight vector
 *   feeds 4 fmla.
 *
 * Every output is acc = fma(x[k], w[k][j], acc) for k = 0, 1, ..., in-1, whatever the path,
 * so a row's bits do not depend on its position in the batch or on where it lies (the row
 * pointer twin). Epilogue: + bias, then NONE / RELU in registers (t > 0 ? t : 0, so NaN -> 0
 * like the scalar kernel; fmax would keep the NaN), the other activations through
 * tmlp_act_scalar on the 4 lanes (the reference itself, so correctness first; vectorising
 * them is future work), and only the real outputs are stored.
 */
#include "kernels.h"

#include <arm_neon.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Store the first `left` lanes of t (all 4 if left >= 4, none if left <= 0), activated. */
ALWAYS_INLINE void store_vec(float *y, float32x4_t t, int64_t left, tmlp_epilogue ep)
{
    if (left <= 0) return;
    if (ep.act == TMLP_ACT_RELU) t = vbslq_f32(vcgtq_f32(t, vdupq_n_f32(0.0f)), t, vdupq_n_f32(0.0f));
    float v[4];
    vst1q_f32(v, t);
    if (ep.act != TMLP_ACT_NONE && ep.act != TMLP_ACT_RELU)
        for (int i = 0; i < 4; i++) v[i] = tmlp_act_scalar(ep, v[i]);
    const int n = left > 4 ? 4 : (int)left;
    for (int i = 0; i < n; i++) y[i] = v[i];
}

/* One row against a panel of n4 vectors of 4 (n4 in 4, 8, 12, 16). */
ALWAYS_INLINE void row1(const float *w, int64_t in, int n4, const float *x, const float *b,
                        float *y, int64_t valid, tmlp_epilogue ep)
{
    float32x4_t acc[16];
    const int64_t wp = 4 * n4;
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++) acc[v] = vdupq_n_f32(0.0f);
    for (int64_t k = 0; k < in; k++) {
        const float32x4_t xk = vdupq_n_f32(x[k]);
        const float *wk = w + k * wp;
        __builtin_prefetch(wk + 1024);
#pragma GCC unroll 16
        for (int v = 0; v < n4; v++) acc[v] = vfmaq_f32(acc[v], xk, vld1q_f32(wk + 4 * v));
    }
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++)
        store_vec(y + 4 * v, vaddq_f32(acc[v], vld1q_f32(b + 4 * v)), valid - 4 * v, ep);
}

/* R rows (xr[0..R), R = 2, 3 or 4) against columns [c, c + 16) of a panel of width wp. */
ALWAYS_INLINE void rows_strip(int R, const float *w, int64_t in, int64_t wp, int64_t c,
                              const float *const *xr, int64_t out, const float *b, float *y,
                              int64_t valid, tmlp_epilogue ep)
{
    float32x4_t acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = vdupq_n_f32(0.0f);
    const float *wc = w + c;
    for (int64_t k = 0; k < in; k++) {
        const float *wk = wc + k * wp;
        const float32x4_t w0 = vld1q_f32(wk), w1 = vld1q_f32(wk + 4), w2 = vld1q_f32(wk + 8),
                          w3 = vld1q_f32(wk + 12);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const float32x4_t xk = vdupq_n_f32(xr[r][k]);
            acc[r][0] = vfmaq_f32(acc[r][0], xk, w0);
            acc[r][1] = vfmaq_f32(acc[r][1], xk, w1);
            acc[r][2] = vfmaq_f32(acc[r][2], xk, w2);
            acc[r][3] = vfmaq_f32(acc[r][3], xk, w3);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 4; v++)
            store_vec(y + r * out + c + 4 * v, vaddq_f32(acc[r][v], vld1q_f32(b + c + 4 * v)),
                      valid - c - 4 * v, ep);
}

/* The batch loop: groups of 4 rows in 16-column strips, then the rest (rows_driver.h). */
#define ROWS_VEC 4
#include "rows_driver.h"

/* Both entry points: x contiguous (xp NULL) or row pointers xp (x NULL). */
ALWAYS_INLINE void forward(const tmlp_packed *p, const float *x, const float *const *xp, float *y,
                           int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out;
    for (int64_t panel = 0; panel < p->n_panels; panel++) {
        const int64_t j0 = panel * TMLP_PANEL, valid = out - j0;
        const float *w = p->w + j0 * in, *b = p->bias + j0;
        switch (tmlp_panel_width(p, panel) / 16) {
        case 4: panel_all_rows(w, in, 16, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 3: panel_all_rows(w, in, 12, x, xp, out, b, y + j0, batch, valid, ep); break;
        case 2: panel_all_rows(w, in, 8, x, xp, out, b, y + j0, batch, valid, ep); break;
        default: panel_all_rows(w, in, 4, x, xp, out, b, y + j0, batch, valid, ep); break;
        }
    }
}

TMLP_KERNEL_ENTRY_POINTS(neon)
