/* tinymlp/blas.h — the BLAS underneath (OpenBLAS): thread count and configuration.
 *
 * OpenBLAS keeps its thread count in process-wide state; these calls are thin wrappers so
 * benchmark reports can record exactly what ran (name, version, core type, threads).
 *
 * Thread defaults — the library and bench_mlp differ:
 *   - The library never changes the BLAS thread count. A program linking tinymlp runs
 *     OpenBLAS's default: OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) if set, else one
 *     thread per core. Each forward with batch > 1 may then spread over every core, and
 *     its time varies with what else runs (twice as long from one run to the next is
 *     common on a shared machine). For repeatable timings, or when you run
 *     sessions on several threads of your own, call tmlp_blas_set_threads(1, NULL) first.
 *   - bench_mlp and bench_forward pin 1 BLAS thread (--blas-threads N changes it) and the
 *     test suite sets OPENBLAS_NUM_THREADS=1.
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
    char best_core[32]; /* tmlp_blas_best_core(): the core this CPU should run, "" if none */
    /* Who chose `core`: "OpenBLAS (its own cpuid)", "user (OPENBLAS_CORETYPE)" or
     * "bench_mlp (cpuid, re-executed)" (bench_mlp set the variable and restarted itself). */
    char core_source[48];
    int threads;        /* openblas_get_num_threads() */
    int parallel;       /* openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP */
    /* Non-empty when OpenBLAS runs kernels older than the CPU (e.g. the generic "Prescott"
     * that 0.3.21 picks for a CPU it does not recognise) although the CPU has AVX2+FMA or
     * AVX-512: one sentence saying so and how to fix it (OPENBLAS_CORETYPE=<best_core>).
     * Benchmarks print it: those kernels are several times slower. */
    char advice[256];
} tmlp_blas_info;

/* Set the BLAS thread count for the whole process (n >= 1). Not thread-safe with
 * concurrent forwards: call it before starting workers. Errors: TMLP_ERR_ARG (n < 1);
 * `err` (may be NULL) gets "tmlp_blas_set_threads: 0 threads, need at least 1". */
TMLP_API tmlp_status tmlp_blas_set_threads(int n, tmlp_error *err);
/* The current BLAS thread count (openblas_get_num_threads()). */
TMLP_API int tmlp_blas_get_threads(void);
TMLP_API void tmlp_blas_get_info(tmlp_blas_info *out);

/* The OpenBLAS core this CPU should run, from cpuid: "SkylakeX" (AVX-512 F, BW, VL, DQ),
 * "Haswell" (AVX2 + FMA), or "" (nothing better than OpenBLAS's own choice). Static. The
 * core is fixed when OpenBLAS loads, so the way to use it is OPENBLAS_CORETYPE=<core> in
 * the environment of the process (bench_mlp re-executes itself with it). */
TMLP_API const char *tmlp_blas_best_core(void);

/* Check the running core once: a small odd-sized sgemm (7 x 37 x 29) against the scalar
 * kernel. TMLP_OK if every output agrees within 1e-5 of the magnitude of its terms,
 * TMLP_ERR_STATE if not (a core wrong for this CPU), TMLP_ERR_NOMEM. *max_error (may be
 * NULL) gets the worst error. Thread-safe; allocates a few KB. `err` (may be NULL) gets a
 * message ("blas: check_core: sgemm differs from the scalar kernel by ..."). */
TMLP_API tmlp_status tmlp_blas_check_core(double *max_error, tmlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
