/* pack.c — W (out, in) into 64-output panels [panel][in][wp] (layout: kernels.h).
 *
 * Done once per Dense layer when the model is built or loaded; the forward pass then
 * streams each panel front to back. Memory: n_panels * 64 * in floats for W at most (the
 * last panel is only rounded up to 16 outputs) plus 64 * n_panels for the bias; the
 * original (out, in) copy stays in the layer for saving and for the BLAS path.
 */
#include "kernels.h"

#include "internal.h"

#include <math.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Ask for 2 MB pages under a large block of weights, before anything touches it (the pages
 * are then allocated huge at the first write, by the packing below). A forward that streams
 * weights from DRAM takes a TLB miss every 4 KB otherwise, and in a virtual machine each
 * miss is a two-level page walk: on the AMD EPYC (Zen 5) VM, batch 1 of 1024-4096-4096-1024
 * took 4.4-5.2 ms on 4 KB pages and 3.3-3.8 ms on 2 MB ones (docs/kernels.md, "Cache-aware
 * dispatch"). Only the whole 2 MB pages inside the block are advised; a failure (no THP,
 * "never" mode, another allocator) costs nothing but the speed. */
void tmlp_mem_advise_huge(void *block, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20, b = (uintptr_t)block;
    const uintptr_t lo = (b + huge - 1) & ~(huge - 1), hi = (b + bytes) & ~(huge - 1);
    if (bytes >= 2 * huge && hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)block;
    (void)bytes;
#endif
}

static tmlp_status pack_f32(const tmlp_allocator *a, int64_t in, int64_t out, const float *weight,
                            const float *bias, tmlp_packed *p)
{
    memset(p, 0, sizeof *p);
    p->precision = TMLP_PRECISION_F32;
    p->kp = in;
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
    tmlp_mem_advise_huge(p->block, bytes);
    p->bytes = bytes;
    p->layer_bytes = (size_t)n_panels * TMLP_PANEL * (size_t)in * sizeof(float);
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

/* BF16 and INT8: one block holding [panels | bias | wscale | wsum], 64-byte aligned. */
static tmlp_status pack_lowp(const tmlp_allocator *a, int64_t in, int64_t out, const float *weight,
                             const float *bias, tmlp_precision prec, tmlp_packed *p)
{
    memset(p, 0, sizeof *p);
    const int group = prec == TMLP_PRECISION_BF16 ? 2 : 4, esize = prec == TMLP_PRECISION_BF16 ? 2 : 1;
    const int64_t n_panels = (out + TMLP_PANEL - 1) / TMLP_PANEL, kp = (in + group - 1) / group * group;
    size_t nw, wbytes, nb = (size_t)n_panels * TMLP_PANEL, tail, bytes;
    if (!tmlp_size_mul((size_t)n_panels * TMLP_PANEL, (size_t)kp, &nw) ||
        !tmlp_size_mul(nw, (size_t)esize, &wbytes) || !tmlp_size_mul(nb, 3 * sizeof(float), &tail) ||
        __builtin_add_overflow(wbytes, (size_t)63, &wbytes))
        return TMLP_ERR_NOMEM;
    wbytes &= ~(size_t)63;
    if (__builtin_add_overflow(wbytes, tail, &bytes) || __builtin_add_overflow(bytes, (size_t)63, &bytes))
        return TMLP_ERR_NOMEM;
    p->block = tmlp_mem_alloc(a, bytes);
    if (!p->block) return TMLP_ERR_NOMEM;
    tmlp_mem_advise_huge(p->block, bytes);
    memset(p->block, 0, bytes);
    p->bytes = bytes;
    p->layer_bytes = (size_t)n_panels * TMLP_PANEL * (size_t)in * sizeof(float);
    p->in = in;
    p->out = out;
    p->n_panels = n_panels;
    p->precision = prec;
    p->kp = kp;
    unsigned char *base = (unsigned char *)(((uintptr_t)p->block + 63) & ~(uintptr_t)63);
    p->bias = (float *)(base + wbytes);
    p->wscale = p->bias + nb;
    p->wsum = (int32_t *)(p->wscale + nb);
    if (bias) memcpy(p->bias, bias, (size_t)out * sizeof(float));
    if (prec == TMLP_PRECISION_BF16) p->wb = (uint16_t *)base;
    else p->wq = (int8_t *)base;

    for (int64_t panel = 0; panel < n_panels; panel++) {
        const int64_t wp = tmlp_panel_width(p, panel), j0 = panel * TMLP_PANEL;
        for (int64_t j = 0; j < wp; j++) p->wscale[j0 + j] = 1.0f;
        for (int64_t j = 0; j < wp && j0 + j < out; j++) {
            const float *row = weight + (j0 + j) * in; /* W[j0 + j][0 .. in) */
            if (prec == TMLP_PRECISION_BF16) {
                /* element (t, j, i) of the panel: k = 2t + i */
                uint16_t *dst = p->wb + j0 * kp;
                for (int64_t k = 0; k < in; k++) dst[(k / 2) * wp * 2 + j * 2 + (k & 1)] = tmlp_f32_to_bf16(row[k]);
                continue;
            }
            /* INT8, symmetric per output: scale = max|W_j| / 127, q = rne(W / scale) in
             * [-127, 127] (-128 unused, so -q never overflows). An all-zero row: scale 1. */
            float amax = 0.0f;
            for (int64_t k = 0; k < in; k++) amax = fmaxf(amax, fabsf(row[k]));
            const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
            int8_t *dst = p->wq + j0 * kp;
            int32_t sum = 0;
            for (int64_t k = 0; k < in; k++) {
                long q = lrintf(row[k] / scale);
                q = q > 127 ? 127 : q < -127 ? -127 : q;
                dst[(k / 4) * wp * 4 + j * 4 + (k & 3)] = (int8_t)q;
                sum += (int32_t)q;
            }
            p->wscale[j0 + j] = scale;
            p->wsum[j0 + j] = sum;
        }
    }
    return TMLP_OK;
}

tmlp_status tmlp_packed_create(const tmlp_allocator *a, int64_t in, int64_t out,
                               const float *weight, const float *bias, tmlp_packed *p)
{
    return pack_f32(a, in, out, weight, bias, p);
}

tmlp_status tmlp_packed_create_prec(const tmlp_allocator *a, int64_t in, int64_t out,
                                    const float *weight, const float *bias, tmlp_precision prec,
                                    tmlp_packed *p)
{
    if (prec == TMLP_PRECISION_BF16 || prec == TMLP_PRECISION_INT8)
        return pack_lowp(a, in, out, weight, bias, prec, p);
    return pack_f32(a, in, out, weight, bias, p);
}

size_t tmlp_packed_stream_bytes(const tmlp_packed *p)
{
    size_t cols = 0; /* packed output columns over all panels */
    for (int64_t panel = 0; panel < p->n_panels; panel++) cols += (size_t)tmlp_panel_width(p, panel);
    switch (p->precision) {
    case TMLP_PRECISION_BF16: return cols * (size_t)p->kp * 2;
    case TMLP_PRECISION_INT8: return cols * (size_t)p->kp + cols * 2 * sizeof(float);
    default: return cols * (size_t)p->in * sizeof(float);
    }
}

void tmlp_packed_destroy(const tmlp_allocator *a, tmlp_packed *p)
{
    if (!p) return;
    tmlp_mem_free(a, p->block);
    memset(p, 0, sizeof *p);
}
