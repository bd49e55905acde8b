/* avx512_native.c — avx512_lowp.h with vdpbf16ps (AVX512_BF16) and vpdpbusd (AVX512_VNNI).
 * Compiled alone with -mavx512f -mavx512bw -mavx512bf16 -mavx512vnni; dispatch.c calls it
 * only when cpuid reports all four. */
#define LOWP_NATIVE 1
#define LOWP_PREFIX avx512n
#include "avx512_lowp.h"
