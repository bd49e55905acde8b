/* neon_bf16.c — BF16 with bfdot (compiled with +bf16; dispatch.c calls it only when
 * getauxval(AT_HWCAP2) has HWCAP2_BF16). One bfdot per 4 outputs and pair of k: lane j of the
 * packed weights is output j's (w[2t], w[2t+1]), and the row's pair is broadcast to every lane.
 * bfdot rounds the pair's sum its own way (Arm ARM: BFDotAdd), so results differ from the
 * scalar reference by sum order only, inside the BF16 bound of the tests.
 */
#include <arm_neon.h>
#include <stdint.h>

static inline __attribute__((always_inline)) float32x4_t bf16_dot_bfdot(float32x4_t acc, uint32x4_t xp,
                                                                          uint32x4_t w)
{
    return vbfdotq_f32(acc, vreinterpretq_bf16_u32(w), vreinterpretq_bf16_u32(xp));
}

#define NEON_BF16_NAME tmlp_kernel_neon_bf16_bfdot
#define BF16_DOT(acc, xp, w) bf16_dot_bfdot(acc, xp, w)
#include "neon_lowp.h"
