/* rows_driver.h — the batch loop of a panel, shared by the F32 kernels that work in 16-float
 * column strips (avx2.c: two 8-float vectors a strip; neon.c: four 4-float vectors).
 *
 * The including file defines, before including this header:
 *   ROWS_VEC     floats per vector register (8 or 4); a panel is ROWS_VEC * nv floats wide;
 *   row1(w, in, nv, x, b, y, valid, ep)                    one row, the whole panel;
 *   rows_strip(R, w, in, pw, c, xr, out, b, y, valid, ep)  R rows (2..4), columns c..c+15
 *                                                           of a panel pw floats wide;
 * and ALWAYS_INLINE. Row r of x is TMLP_XROW(x, xp, in, r): contiguous or the caller's pointer.
 *
 * Invariant: every row of the batch is computed once, in groups of 4, then the 1..3 left over
 * in one group (one row alone takes row1, which keeps the panel in registers).
 */
#ifndef TMLP_KERNELS_ROWS_DRIVER_H
#define TMLP_KERNELS_ROWS_DRIVER_H

ALWAYS_INLINE void panel_all_rows(const float *w, int64_t in, int nv, const float *x,
                                  const float *const *xp, int64_t out, const float *b, float *y,
                                  int64_t batch, int64_t valid, tmlp_epilogue ep)
{
    const int64_t pw = (int64_t)ROWS_VEC * nv;
    int64_t r = 0;
    const float *xr[4];
    for (; r + 4 <= batch; r += 4) {
        for (int i = 0; i < 4; i++) xr[i] = TMLP_XROW(x, xp, in, r + i);
        for (int64_t c = 0; c < pw; c += 16) rows_strip(4, w, in, pw, c, xr, out, b, y + r * out, valid, ep);
    }
    const int64_t left = batch - r;
    for (int i = 0; i < left; i++) xr[i] = TMLP_XROW(x, xp, in, r + i);
    if (left == 1) {
        row1(w, in, nv, xr[0], b, y + r * out, valid, ep);
        return;
    }
    for (int64_t c = 0; left > 1 && c < pw; c += 16) {
        if (left == 3) rows_strip(3, w, in, pw, c, xr, out, b, y + r * out, valid, ep);
        else rows_strip(2, w, in, pw, c, xr, out, b, y + r * out, valid, ep);
    }
}

#endif
