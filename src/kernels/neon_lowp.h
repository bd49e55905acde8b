/* neon_lowp.h — the arm64 BF16 and INT8 kernels, one template for every NEON feature level.
 *
 * The including file defines, for the instructions it is compiled with:
 *     NEON_BF16_NAME, BF16_DOT(acc, xp, w)    BF16 entry point; acc (float32x4_t, 4 outputs)
 *                                             += xp . w per lane, xp = one x pair (bf16
 *                                             x[2t] low, x[2t+1] high) in every lane, w =
 *                                             4 outputs' pairs (uint32x4_t)
 *     NEON_INT8_NAME, INT8_DOT(acc, xq, w),   INT8 entry point; acc (int32x4_t, 4 outputs)
 *     INT8_OFFSET                             += sum of 4 (xq byte - INT8_OFFSET) * w byte,
 *                                             xq = 4 u8 activations, w = int8x16_t of 4
 *                                             outputs x 4 k; the offset is added back once,
 *                                             INT8_OFFSET * wsum[j], at the end (exact)
 * (either or both). Layouts: kernels.h (bf16 wb[t][j][2], int8 wq[t][j][4], 64-output panels).
 *
 * Rows are taken one at a time: the row is converted (bf16 pairs, tmlp_f32_to_bf16) or
 * quantized (tmlp_q8_params / tmlp_q8_one) into a 64 KB stack buffer with the scalar
 * reference's own functions, then run against every panel with wp/4 accumulators (16 at
 * wp = 64) over t. The epilogue is the scalar reference's, output by output: BF16 acc + b,
 * INT8 tmlp_q8_out; then the activation (RELU: v > 0 ? v : 0; others tmlp_act_scalar).
 * INT8 is therefore bit for bit the scalar kernel (integer sums); BF16 widened by shift is
 * too (each bf16 x bf16 product is exact in F32, so fmla rounds like mul + add and the order
 * is the reference's: odd element, then even); bfdot sums a pair in its own way (within the
 * BF16 bound of test_precision.c).
 */
#include "kernels.h"

#include <arm_neon.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE float lowp_act(float v, tmlp_epilogue ep)
{
    if (ep.act == TMLP_ACT_NONE) return v;
    if (ep.act == TMLP_ACT_RELU) return v > 0.0f ? v : 0.0f;
    return tmlp_act_scalar(ep, v);
}

#ifdef NEON_BF16_NAME
/* One row (xb: np pairs) against one panel of width wp = 4 n4; y gets the valid outputs. */
ALWAYS_INLINE void panel_bf16(int n4, const uint16_t *w, int64_t np, const uint32_t *xb,
                              const float *b, float *y, int64_t valid, tmlp_epilogue ep)
{
    float32x4_t acc[16];
    const int64_t wp = 4 * n4;
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++) acc[v] = vdupq_n_f32(0.0f);
    for (int64_t t = 0; t < np; t++) {
        const uint32x4_t xp = vdupq_n_u32(xb[t]);
        const uint32_t *wt = (const uint32_t *)(w + t * wp * 2);
#pragma GCC unroll 16
        for (int v = 0; v < n4; v++) acc[v] = BF16_DOT(acc[v], xp, vld1q_u32(wt + 4 * v));
    }
    float a[TMLP_PANEL];
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++) vst1q_f32(a + 4 * v, acc[v]);
    const int64_t n = valid < wp ? valid : wp;
    for (int64_t j = 0; j < n; j++) y[j] = lowp_act(a[j] + b[j], ep);
}

ALWAYS_INLINE void lowp_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch,
                             tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp, np = kp / 2;
    uint32_t xb[TMLP_LOWP_STACK / 4]; /* one row: np <= TMLP_LOWP_MAX_IN / 2 pairs */
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * in;
        for (int64_t t = 0; t < np; t++) {
            const uint32_t lo = tmlp_f32_to_bf16(xr[2 * t]);
            const uint32_t hi = 2 * t + 1 < in ? tmlp_f32_to_bf16(xr[2 * t + 1]) : 0u;
            xb[t] = lo | hi << 16;
        }
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t j0 = panel * TMLP_PANEL;
            const uint16_t *w = p->wb + j0 * kp;
            float *yr = y + r * out + j0;
            switch (tmlp_panel_width(p, panel) / 16) {
            case 4: panel_bf16(16, w, np, xb, p->bias + j0, yr, out - j0, ep); break;
            case 3: panel_bf16(12, w, np, xb, p->bias + j0, yr, out - j0, ep); break;
            case 2: panel_bf16(8, w, np, xb, p->bias + j0, yr, out - j0, ep); break;
            default: panel_bf16(4, w, np, xb, p->bias + j0, yr, out - j0, ep); break;
            }
        }
    }
}

void NEON_BF16_NAME(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    TMLP_EPILOGUE_SPLIT(ep, e, lowp_bf16(p, x, y, batch, e));
}
#endif

#ifdef NEON_INT8_NAME
/* One quantized row (xq: nq groups of 4 bytes; scale sx, zero point z) against one panel. */
ALWAYS_INLINE void panel_int8(int n4, const int8_t *w, int64_t nq, const uint32_t *xq, float sx,
                              int32_t z, const float *b, const float *ws, const int32_t *wsum,
                              float *y, int64_t valid, tmlp_epilogue ep)
{
    int32x4_t acc[16];
    const int64_t wp = 4 * n4;
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++) acc[v] = vdupq_n_s32(0);
    for (int64_t t = 0; t < nq; t++) {
        const uint32_t xt = xq[t];
        const int8_t *wt = w + t * wp * 4;
#pragma GCC unroll 16
        for (int v = 0; v < n4; v++) acc[v] = INT8_DOT(acc[v], xt, vld1q_s8(wt + 16 * v));
    }
    int32_t a[TMLP_PANEL];
#pragma GCC unroll 16
    for (int v = 0; v < n4; v++) vst1q_s32(a + 4 * v, acc[v]);
    const int64_t n = valid < wp ? valid : wp;
    for (int64_t j = 0; j < n; j++) {
        const int32_t s = (int32_t)((uint32_t)a[j] + (uint32_t)INT8_OFFSET * (uint32_t)wsum[j]);
        y[j] = lowp_act(tmlp_q8_out(s, z, wsum[j], sx, ws[j], b[j]), ep);
    }
}

ALWAYS_INLINE void lowp_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch,
                             tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp, nq = kp / 4;
    uint32_t xq[TMLP_LOWP_STACK / 4]; /* one row: kp <= TMLP_LOWP_MAX_IN bytes */
    uint8_t *q = (uint8_t *)xq;
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * in;
        float lo = xr[0], hi = xr[0], sx, inv;
        int32_t z;
        for (int64_t k = 1; k < in; k++) {
            lo = xr[k] < lo ? xr[k] : lo;
            hi = xr[k] > hi ? xr[k] : hi;
        }
        tmlp_q8_params(lo, hi, &sx, &inv, &z);
        for (int64_t k = 0; k < in; k++) q[k] = tmlp_q8_one(xr[k], inv, z);
        memset(q + in, 0, (size_t)(kp - in)); /* padding: weight 0 */
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t j0 = panel * TMLP_PANEL;
            const int8_t *w = p->wq + j0 * kp;
            float *yr = y + r * out + j0;
            const float *b = p->bias + j0, *ws = p->wscale + j0;
            const int32_t *wsum = p->wsum + j0;
            switch (tmlp_panel_width(p, panel) / 16) {
            case 4: panel_int8(16, w, nq, xq, sx, z, b, ws, wsum, yr, out - j0, ep); break;
            case 3: panel_int8(12, w, nq, xq, sx, z, b, ws, wsum, yr, out - j0, ep); break;
            case 2: panel_int8(8, w, nq, xq, sx, z, b, ws, wsum, yr, out - j0, ep); break;
            default: panel_int8(4, w, nq, xq, sx, z, b, ws, wsum, yr, out - j0, ep); break;
            }
        }
    }
}

void NEON_INT8_NAME(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    TMLP_EPILOGUE_SPLIT(ep, e, lowp_int8(p, x, y, batch, e));
}
#endif
