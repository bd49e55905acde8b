/* u8_vbmi.c — forward_u8's table lookup, dst[i] = table[src[i]], 64 pixels a step with
 * AVX512_VBMI byte permutes (compiled alone with -mavx512f -mavx512bw -mavx512vbmi;
 * dispatch.c picks it only when cpuid reports all three).
 *
 * The 256 floats of the table are kept as 4 byte planes (tmlp_u8_table writes them after
 * the floats: plane p holds byte p of every entry). For 64 indices:
 *
 *   each plane: vpermi2b looks up 64 bytes in entries 0..127 (two zmm, 7 index bits) and
 *               again in 128..255; bit 7 of the index (vpmovb2m) picks one  -> P0..P3
 *   bytes -> floats: unpack P0/P1 and P2/P3 bytewise, then the results wordwise: four
 *               zmm holding pixels 16k + {0-3}, {4-7}, {8-11}, {12-15} of 128-bit lane k;
 *               a 4 x 4 transpose of 128-bit lanes (vshufi32x4) puts them in order.
 *
 * ~34 instructions per 64 pixels, against ~20 per 16 for the vpermt2ps tree of avx512.c;
 * the bytes of each float are those of the table, so the result is the scalar loop's bits.
 * Tails (n % 64) go to tmlp_u8_lookup_avx512.
 */
#include "kernels.h"

#include <immintrin.h>

void tmlp_u8_lookup_vbmi(const uint8_t *src, const float *table, float *dst, int64_t n)
{
    const uint8_t *planes = (const uint8_t *)(table + 256);
    __m512i t[4][4]; /* plane p: entries 0..127 in t[p][0..1], 128..255 in t[p][2..3] */
    for (int p = 0; p < 4; p++)
        for (int c = 0; c < 4; c++) t[p][c] = _mm512_loadu_si512(planes + 256 * p + 64 * c);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512i v = _mm512_loadu_si512(src + i);
        const __mmask64 b7 = _mm512_movepi8_mask(v);
        __m512i P[4];
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            const __m512i l = _mm512_permutex2var_epi8(t[p][0], v, t[p][1]);
            const __m512i h = _mm512_permutex2var_epi8(t[p][2], v, t[p][3]);
            P[p] = _mm512_mask_blend_epi8(b7, l, h);
        }
        const __m512i l01 = _mm512_unpacklo_epi8(P[0], P[1]), h01 = _mm512_unpackhi_epi8(P[0], P[1]);
        const __m512i l23 = _mm512_unpacklo_epi8(P[2], P[3]), h23 = _mm512_unpackhi_epi8(P[2], P[3]);
        const __m512i A = _mm512_unpacklo_epi16(l01, l23), B = _mm512_unpackhi_epi16(l01, l23);
        const __m512i C = _mm512_unpacklo_epi16(h01, h23), D = _mm512_unpackhi_epi16(h01, h23);
        const __m512i T0 = _mm512_shuffle_i32x4(A, B, 0x44), T1 = _mm512_shuffle_i32x4(C, D, 0x44);
        const __m512i T2 = _mm512_shuffle_i32x4(A, B, 0xEE), T3 = _mm512_shuffle_i32x4(C, D, 0xEE);
        _mm512_storeu_si512(dst + i, _mm512_shuffle_i32x4(T0, T1, 0x88));
        _mm512_storeu_si512(dst + i + 16, _mm512_shuffle_i32x4(T0, T1, 0xDD));
        _mm512_storeu_si512(dst + i + 32, _mm512_shuffle_i32x4(T2, T3, 0x88));
        _mm512_storeu_si512(dst + i + 48, _mm512_shuffle_i32x4(T2, T3, 0xDD));
    }
    if (i < n) tmlp_u8_lookup_avx512(src + i, table, dst + i, n - i);
}
