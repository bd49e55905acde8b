/* neon_lowp.c — BF16 and INT8 on base NEON (every arm64 CPU): the kernels neon runs, and the
 * fallbacks of neon_dotprod (BF16) and neon_bf16 (INT8 without the dot product extension).
 *
 * BF16: each 32-bit lane holds one output's pair (w[2t] low half, w[2t+1] high half); the
 * halves become F32 by shift (even: lane << 16) and mask (odd: lane & 0xffff0000), two fmla
 * per pair, odd first as the scalar reference.
 * INT8: a 16-byte vector is 4 outputs x 4 k. Bytes are widened to 16 bits (vmovl), multiplied
 * by the row's 4 u8 activations repeated (255 x 128 < 2^15: no overflow in 16 bits), and
 * pairwise added twice (vpaddlq_s16, vpaddq_s32) into one int32 per output: exact.
 */
#include <arm_neon.h>
#include <stdint.h>

static inline __attribute__((always_inline)) float32x4_t bf16_dot_widen(float32x4_t acc, uint32x4_t xp,
                                                                          uint32x4_t w)
{
    const uint32x4_t hi = vdupq_n_u32(0xffff0000u);
    acc = vfmaq_f32(acc, vreinterpretq_f32_u32(vandq_u32(xp, hi)), vreinterpretq_f32_u32(vandq_u32(w, hi)));
    return vfmaq_f32(acc, vreinterpretq_f32_u32(vshlq_n_u32(xp, 16)), vreinterpretq_f32_u32(vshlq_n_u32(w, 16)));
}

static inline __attribute__((always_inline)) int32x4_t int8_dot_widen(int32x4_t acc, uint32_t xq, int8x16_t w)
{
    /* x16 = x0 x1 x2 x3 x0 x1 x2 x3 (u8 -> s16); w lo = outputs 0, 1; w hi = outputs 2, 3 */
    const int16x8_t x16 = vreinterpretq_s16_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(xq))));
    const int32x4_t lo = vpaddlq_s16(vmulq_s16(vmovl_s8(vget_low_s8(w)), x16));
    const int32x4_t hi = vpaddlq_s16(vmulq_s16(vmovl_high_s8(w), x16));
    return vaddq_s32(acc, vpaddq_s32(lo, hi));
}

#define NEON_BF16_NAME tmlp_kernel_neon_bf16_widen
#define BF16_DOT(acc, xp, w) bf16_dot_widen(acc, xp, w)
#define NEON_INT8_NAME tmlp_kernel_neon_int8_widen
#define INT8_DOT(acc, xq, w) int8_dot_widen(acc, xq, w)
#define INT8_OFFSET 0
#include "neon_lowp.h"
