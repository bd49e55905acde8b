/* tinymlp/blas.h — the BLAS underneath (OpenBLAS): thread count and configuration.
 *
 * OpenBLAS keeps its thread count in process-wide state; these calls are thin wrappers so
 * benchmark reports can record exactly what ran (name, version, core type, threads).
 */
#ifndef TINYMLP_BLAS_H
#define TINYMLP_BLAS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_blas_info {
    char name[32];      /* "OpenBLAS" */
    char version[128];  /* openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64" */
    char core[64];      /* openblas_get_corename(), e.g. "Haswell" */
    char coretype_env[64]; /* value of OPENBLAS_CORETYPE, "" if unset */
    int threads;        /* openblas_get_num_threads() */
    int parallel;       /* openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP */
    /* Non-empty when OpenBLAS runs its generic x86-64 kernels ("Prescott": what 0.3.21
     * picks for a CPU it does not recognise) although the CPU has AVX2 and FMA: one
     * sentence saying so and how to fix it (OPENBLAS_CORETYPE=Haswell). Benchmarks print it:
     * the generic kernels are several times slower and the figures would mislead. */
    char advice[192];
} tmlp_blas_info;

/* Set the BLAS thread count for the whole process (n >= 1). Not thread-safe with
 * concurrent forwards: call it before starting workers. */
TMLP_API tmlp_status tmlp_blas_set_threads(int n);
TMLP_API void tmlp_blas_get_info(tmlp_blas_info *out);

#ifdef __cplusplus
}
#endif
#endif
