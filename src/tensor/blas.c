/* blas.c — the BLAS underneath: thread count and the configuration reports record.
 *
 * OpenBLAS keeps one process-wide thread pool; openblas_set_num_threads resizes it. The
 * engine calls BLAS from whichever thread runs a session, so with several worker threads
 * the usual setting is 1 BLAS thread each (the test suite sets OPENBLAS_NUM_THREADS=1).
 * OPENBLAS_CORETYPE (e.g. "Haswell") forces a kernel family; we only report it.
 */
#include "tinymlp/blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tmlp_status tmlp_blas_set_threads(int n)
{
    if (n < 1) return TMLP_ERR_ARG;
    openblas_set_num_threads(n);
    return TMLP_OK;
}

/* Copy src (may be NULL) into dst[cap], always NUL-terminated, trailing spaces trimmed. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ') dst[--n] = '\0';
}

void tmlp_blas_get_info(tmlp_blas_info *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    copy_str(out->name, sizeof out->name, "OpenBLAS");
    copy_str(out->version, sizeof out->version, openblas_get_config());
    copy_str(out->core, sizeof out->core, openblas_get_corename());
    copy_str(out->coretype_env, sizeof out->coretype_env, getenv("OPENBLAS_CORETYPE"));
    out->threads = openblas_get_num_threads();
    out->parallel = openblas_get_parallel();
#if defined(__x86_64__) && defined(__GNUC__)
    if (!strcmp(out->core, "Prescott") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        snprintf(out->advice, sizeof out->advice,
                 "OpenBLAS chose its generic 'Prescott' kernels (it does not recognise this CPU) "
                 "although the CPU has AVX2 and FMA: set OPENBLAS_CORETYPE=Haswell");
#endif
}
