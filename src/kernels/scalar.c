/* scalar.c — the portable kernel: the reference every other kernel is tested against.
 *
 *     y[r][j] = act( b[j] + sum_k x[r][k] * W[j][k] )      act: act.h (tmlp_act_scalar)
 *
 * over the packed panels of kernels.h: for a row r and a panel of wp outputs, acc[0..wp)
 * accumulates x[r][k] * wp[k][0..wp) for k = 0, 1, ..., in-1 (in that order, one rounding
 * per multiply and per add: -ffp-contract=off), then the bias is added and act applied.
 * The SIMD kernels do exactly this with acc[] held in vector registers.
 */
#include "kernels.h"

/* x contiguous (xp NULL) or row pointers xp (x NULL): kernels.h, TMLP_XROW. Aligned to 64
 * bytes so that where the linker puts it cannot split the inner j loop (25 bytes) across
 * two 64-byte fetch windows: after an unrelated edit moved it 0x30 bytes, that made this
 * kernel 1.5x slower in bench_forward (AMD EPYC, GCC 12). */
static __attribute__((aligned(64))) void forward(const tmlp_packed *p, const float *x,
                                                 const float *const *xp, float *y,
                                                 int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out;
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = TMLP_XROW(x, xp, in, r); /* row r of x: (in) */
        float *yr = y + r * out;                   /* row r of y: (out) */
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t wp = tmlp_panel_width(p, panel), j0 = panel * TMLP_PANEL;
            const float *w = p->w + j0 * in; /* this panel: (in, wp) */
            float acc[TMLP_PANEL] = {0};
            for (int64_t k = 0; k < in; k++)
                for (int64_t j = 0; j < wp; j++) acc[j] += xr[k] * w[k * wp + j];
            /* epilogue: bias, activation, and only the real outputs (not the padding) */
            for (int64_t j = 0; j < wp && j0 + j < out; j++) {
                const float v = acc[j] + p->bias[j0 + j];
                yr[j0 + j] = ep.act == TMLP_ACT_NONE   ? v
                             : ep.act == TMLP_ACT_RELU ? (v > 0.0f ? v : 0.0f)
                                                       : tmlp_act_scalar(ep, v);
            }
        }
    }
}

TMLP_KERNEL_ENTRY_POINTS(scalar)

/* dst[i] = table[src[i]]: forward_u8's preprocessing (avx512.c has the vector twin). */
void tmlp_u8_lookup_scalar(const uint8_t *src, const float *table, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = table[src[i]];
}
