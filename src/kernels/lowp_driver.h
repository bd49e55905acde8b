/* lowp_driver.h — the outer loop of the BF16 and INT8 kernels, shared by avx2_lowp.c and
 * avx512_lowp.h (scalar_lowp.c, the reference, spells it out on its own).
 *
 * Rows of x are converted (BF16 pairs, round to nearest even) or quantized (INT8, per row:
 * tmlp_q8_params) into a 64 KB stack buffer — the forward allocates nothing — up to
 * CHUNK_ROWS rows at a time; then every panel of weights runs against those rows:
 *
 *     for each chunk of rows:   convert / quantize them into xb / xq (sx, zx per row)
 *         for each panel:       panel_*_w(width of the panel, its weights, the rows, ...)
 *
 * The including file defines, for its vector width:
 *     bf16_row(x, in, kp, dst)              one row as bf16 pairs, one uint32 per pair
 *     q8_row(x, in, kp, q, &sx, &zero)      one row quantized, its scale and zero point
 *     panel_bf16_w(wp, w, np, xb, out, b, y, rows, valid, ep)
 *     panel_int8_w(wp, w, nq, xq, sx, zx, out, b, ws, wsum, y, rows, valid, ep)
 *                                           all rows against one panel of width wp
 *                                           (always inline: each entry point runs two
 *                                           copies, TMLP_EPILOGUE_SPLIT in kernels.h)
 *     LOWP_BF16_NAME, LOWP_INT8_NAME        the names of the two entry points (an entry
 *                                           point whose name is not defined is left out)
 */
#define CHUNK_ROWS 64

#ifdef LOWP_BF16_NAME
static inline __attribute__((always_inline)) void lowp_bf16(const tmlp_packed *p, const float *x,
                                                             float *y, int64_t batch,
                                                             tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp, np = kp / 2;
    uint32_t xb[TMLP_LOWP_STACK / 4] __attribute__((aligned(64)));
    int64_t per = (TMLP_LOWP_STACK / 4) / np;
    if (per > CHUNK_ROWS) per = CHUNK_ROWS;
    for (int64_t r0 = 0; r0 < batch; r0 += per) {
        const int64_t rows = batch - r0 < per ? batch - r0 : per;
        for (int64_t r = 0; r < rows; r++) bf16_row(x + (r0 + r) * in, in, kp, xb + r * np);
        float *yc = y + r0 * out;
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t j0 = panel * TMLP_PANEL;
            panel_bf16_w(tmlp_panel_width(p, panel), p->wb + j0 * kp, np, xb, out, p->bias + j0,
                         yc + j0, rows, out - j0, ep);
        }
    }
}
#endif

#ifdef LOWP_INT8_NAME
static inline __attribute__((always_inline)) void lowp_int8(const tmlp_packed *p, const float *x,
                                                             float *y, int64_t batch,
                                                             tmlp_epilogue ep)
{
    const int64_t in = p->in, out = p->out, kp = p->kp, nq = kp / 4;
    uint32_t xq[TMLP_LOWP_STACK / 4] __attribute__((aligned(64)));
    float sx[CHUNK_ROWS];
    int32_t zx[CHUNK_ROWS];
    int64_t per = TMLP_LOWP_STACK / kp;
    if (per > CHUNK_ROWS) per = CHUNK_ROWS;
    for (int64_t r0 = 0; r0 < batch; r0 += per) {
        const int64_t rows = batch - r0 < per ? batch - r0 : per;
        for (int64_t r = 0; r < rows; r++)
            q8_row(x + (r0 + r) * in, in, kp, (uint8_t *)(xq + r * nq), &sx[r], &zx[r]);
        float *yc = y + r0 * out;
        for (int64_t panel = 0; panel < p->n_panels; panel++) {
            const int64_t j0 = panel * TMLP_PANEL;
            panel_int8_w(tmlp_panel_width(p, panel), p->wq + j0 * kp, nq, xq, sx, zx, out,
                         p->bias + j0, p->wscale + j0, p->wsum + j0, yc + j0, rows, out - j0,
                         ep);
        }
    }
}

void LOWP_INT8_NAME(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    TMLP_EPILOGUE_SPLIT(ep, e, lowp_int8(p, x, y, batch, e));
}
#endif

#ifdef LOWP_BF16_NAME
void LOWP_BF16_NAME(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep)
{
    TMLP_EPILOGUE_SPLIT(ep, e, lowp_bf16(p, x, y, batch, e));
}
#endif
