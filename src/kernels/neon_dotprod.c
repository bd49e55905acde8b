/* neon_dotprod.c — INT8 with the dot product extension (compiled with +dotprod; dispatch.c
 * calls it only when getauxval(AT_HWCAP) has HWCAP_ASIMDDP). sdot multiplies signed bytes
 * only, and the activations are u8: each byte is moved to s8 by flipping its top bit
 * (q - 128), and 128 * wsum[j] is added back to the int32 sum once per output, exact:
 *     sum_k q[k] w[j][k] = sum_k (q[k] - 128) w[j][k] + 128 wsum[j].
 * One sdot: 4 outputs x 4 k per instruction (the packed int8 layout's lane is its operand).
 */
#include <arm_neon.h>
#include <stdint.h>

static inline __attribute__((always_inline)) int32x4_t int8_dot_sdot(int32x4_t acc, uint32_t xq, int8x16_t w)
{
    return vdotq_s32(acc, w, vreinterpretq_s8_u32(vdupq_n_u32(xq ^ 0x80808080u)));
}

#define NEON_INT8_NAME tmlp_kernel_neon_int8_sdot
#define INT8_DOT(acc, xq, w) int8_dot_sdot(acc, xq, w)
#define INT8_OFFSET 128
#include "neon_lowp.h"
