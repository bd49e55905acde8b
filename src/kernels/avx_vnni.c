/* avx_vnni.c — avx2_lowp.h's INT8 kernel with vpdpbusd on ymm, VEX-encoded (AVX-VNNI:
 * Alder Lake and later, Zen 5). Compiled alone with -mavx2 -mfma -mavxvnni; dispatch.c
 * calls it only when cpuid reports AVX-VNNI (leaf 7 sub-leaf 1, EAX bit 4). */
#define LOWP_VNNI _mm256_dpbusd_avx_epi32
#define LOWP_INT8_NAME tmlp_kernel_avxvnni_int8
#include "avx2_lowp.h"
