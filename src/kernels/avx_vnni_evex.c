/* avx_vnni_evex.c — avx_vnni.c's kernel with vpdpbusd ymm EVEX-encoded (AVX512_VNNI +
 * AVX512VL). Never dispatched (a CPU with those runs avx512_native.c); it exists so that a
 * CPU without AVX-VNNI but with AVX-512 VNNI (Zen 4) can test the AVX-VNNI kernel's code
 * against the scalar oracle (tests/test_kernels.c). Compiled alone with -mavx2 -mfma
 * -mavx512vl -mavx512vnni. */
#define LOWP_VNNI _mm256_dpbusd_epi32
#define LOWP_INT8_NAME tmlp_kernel_avxvnni_evex_int8
#include "avx2_lowp.h"
