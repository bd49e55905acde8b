/* avx2_lowp.c — avx2_lowp.h with the BF16 and INT8 dot products emulated exactly in AVX2
 * instructions. Compiled alone with -mavx2 -mfma; dispatch.c calls it only when cpuid
 * reports both. */
#define LOWP_BF16_NAME tmlp_kernel_avx2_bf16
#define LOWP_INT8_NAME tmlp_kernel_avx2_int8
#include "avx2_lowp.h"
