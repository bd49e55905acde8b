/* pack.c — W (out, in) into 64-output panels [panel][in][wp] (layout: kernels.h).
 *
 * Done once per Dense layer when the model is built or loaded; the forward pass then
 * streams each panel front to back. Memory: n_panels * 64 * in floats for W at most (the
 * last panel is only rounded up to 16 outputs) plus 64 * n_panels for the bias; the
 * original (out, in) copy stays in the layer for saving and for the BLAS path.
 */
#include "kernels.h"

#include "internal.h"

#include <string.h>

tmlp_status tmlp_packed_create(const tmlp_allocator *a, int64_t in, int64_t out,
                               const float *weight, const float *bias, tmlp_packed *p)
{
    memset(p, 0, sizeof *p);
    const int64_t n_panels = (out + TMLP_PANEL - 1) / TMLP_PANEL;
    /* floats: W panels (the last one may be narrower, so this is an upper bound) + bias */
    size_t nw, nb, bytes;
    if (!tmlp_size_mul((size_t)n_panels * TMLP_PANEL, (size_t)in, &nw) ||
        !tmlp_size_mul((size_t)n_panels, TMLP_PANEL, &nb) ||
        __builtin_add_overflow(nw, nb, &bytes) || !tmlp_size_mul(bytes, sizeof(float), &bytes) ||
        __builtin_add_overflow(bytes, (size_t)63, &bytes))
        return TMLP_ERR_NOMEM;
    p->block = tmlp_mem_alloc(a, bytes);
    if (!p->block) return TMLP_ERR_NOMEM;
    p->bytes = bytes;
    p->in = in;
    p->out = out;
    p->n_panels = n_panels;
    p->w = (float *)(((uintptr_t)p->block + 63) & ~(uintptr_t)63);
    p->bias = p->w + nw;
    memset(p->w, 0, (nw + nb) * sizeof(float));

    for (int64_t panel = 0; panel < n_panels; panel++) {
        const int64_t wp = tmlp_panel_width(p, panel), j0 = panel * TMLP_PANEL;
        float *dst = p->w + j0 * in; /* (in, wp) */
        for (int64_t j = 0; j < wp && j0 + j < out; j++) {
            const float *row = weight + (j0 + j) * in; /* W[j0 + j][0 .. in) */
            for (int64_t k = 0; k < in; k++) dst[k * wp + j] = row[k];
        }
    }
    if (bias) memcpy(p->bias, bias, (size_t)out * sizeof(float));
    return TMLP_OK;
}

void tmlp_packed_destroy(const tmlp_allocator *a, tmlp_packed *p)
{
    if (!p) return;
    tmlp_mem_free(a, p->block);
    memset(p, 0, sizeof *p);
}
