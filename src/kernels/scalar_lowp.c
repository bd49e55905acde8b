/* scalar_lowp.c — the BF16 and INT8 reference kernels: the oracles the SIMD kernels of each
 * precision are tested against (docs/precision.md has the formulas and a worked example).
 *
 * BF16, for row r and output j (weights packed in pairs of k, kernels.h):
 *     xb[k]  = bf16(x[r][k])                         round to nearest even
 *     acc    = 0;  for t = 0 .. kp/2-1:  acc += xb[2t+1] * w[j][2t+1];  acc += xb[2t] * w[j][2t]
 *     y[r][j] = act(acc + b[j])
 * Each product of two bfloat16 is exact in F32 (8 + 8 significant bits), so the only
 * roundings are the F32 adds, in the order vdpbf16ps documents (odd element, then even).
 *
 * INT8, for row r (tmlp_q8_params, kernels.h: asymmetric u8 with zero point z, scale sx)
 * and output j (symmetric int8 weights q_w with scale ws[j], wsum[j] = sum_k q_w[j][k]):
 *     acc     = sum_k q_x[k] * q_w[j][k]                      int32, exact
 *     y[r][j] = act( float(acc - z * wsum[j]) * (sx * ws[j]) + b[j] )
 * since x[k] * W[j][k] ~ sx (q_x[k] - z) * ws[j] q_w[j][k].
 */
#include "kernels.h"

#include <string.h>

/* act.h's reference (ReLU: v > 0 ? v : 0, NaN -> 0, as before) */
static float act(float v, tmlp_epilogue ep)
{
    if (ep.act == TMLP_ACT_NONE) return v;
    if (ep.act == TMLP_ACT_RELU) return v > 0.0f ? v : 0.0f;
    return tmlp_act_scalar(ep, v);
}

void tmlp_kernel_scalar_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp;
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * in; /* row r of x: (in) */
        float *yr = y + r * out;
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t wp = tmlp_panel_width(p, panel), j0 = panel * TMLP_PANEL;
            const uint16_t *w = p->wb + j0 * kp; /* (kp/2, wp, 2) */
            for (int64_t j = 0; j < wp && j0 + j < out; j++) {
                float acc = 0.0f;
                for (int64_t t = 0; t < kp / 2; t++) {
                    const float x0 = tmlp_bf16_to_f32(tmlp_f32_to_bf16(xr[2 * t]));
                    const float x1 = 2 * t + 1 < in ? tmlp_bf16_to_f32(tmlp_f32_to_bf16(xr[2 * t + 1])) : 0.0f;
                    const uint16_t *wj = w + (t * wp + j) * 2;
                    acc += x1 * tmlp_bf16_to_f32(wj[1]);
                    acc += x0 * tmlp_bf16_to_f32(wj[0]);
                }
                yr[j0 + j] = act(acc + p->bias[j0 + j], ep);
            }
        }
    }
}

void tmlp_kernel_scalar_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp;
    uint8_t q[TMLP_LOWP_STACK]; /* one quantized row (in <= TMLP_LOWP_MAX_IN) */
    for (int64_t r = 0; r < batch; r++) {
        const float *xr = x + r * in;
        float *yr = y + r * out;
        /* quantize row r: range, then every element (padding past in: 0, its weight is 0) */
        float lo = xr[0], hi = xr[0], sx, inv;
        int32_t z;
        for (int64_t k = 1; k < in; k++) {
            lo = xr[k] < lo ? xr[k] : lo;
            hi = xr[k] > hi ? xr[k] : hi;
        }
        tmlp_q8_params(lo, hi, &sx, &inv, &z);
        for (int64_t k = 0; k < in; k++) q[k] = tmlp_q8_one(xr[k], inv, z);
        memset(q + in, 0, (size_t)(kp - in));
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t wp = tmlp_panel_width(p, panel), j0 = panel * TMLP_PANEL;
            const int8_t *w = p->wq + j0 * kp; /* (kp/4, wp, 4) */
            for (int64_t j = 0; j < wp && j0 + j < out; j++) {
                int64_t acc = 0;
                for (int64_t k = 0; k < kp; k++) acc += (int64_t)q[k] * w[((k / 4) * wp + j) * 4 + (k & 3)];
                yr[j0 + j] = act(tmlp_q8_out((int32_t)acc, z, p->wsum[j0 + j], sx, p->wscale[j0 + j],
                                             p->bias[j0 + j]), ep);
            }
        }
    }
}
