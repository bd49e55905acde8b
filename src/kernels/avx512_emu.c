/* avx512_emu.c — avx512_lowp.h with the BF16 and INT8 dot products emulated exactly in
 * AVX-512F/BW instructions, for AVX-512 CPUs without AVX512_BF16 or AVX512_VNNI. Compiled
 * alone with -mavx512f -mavx512bw (so the compiler cannot slip in a VNNI instruction). */
#define LOWP_NATIVE 0
#define LOWP_PREFIX avx512e
#include "avx512_lowp.h"
