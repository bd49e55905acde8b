/* blas.c — the BLAS underneath: thread count, the configuration reports record, and
 * which OpenBLAS core (kernel family) runs.
 *
 * OpenBLAS keeps one process-wide thread pool; openblas_set_num_threads resizes it. The
 * engine calls BLAS from whichever thread runs a session, so with several worker threads
 * the usual setting is 1 BLAS thread each (the test suite sets OPENBLAS_NUM_THREADS=1).
 *
 * The core. A DYNAMIC_ARCH OpenBLAS picks its kernels from cpuid once, when the library
 * is loaded, and 0.3.21 falls back to its generic "Prescott" kernels on CPUs newer than
 * it knows (2.9-4.5x slower on a recent Xeon). OPENBLAS_CORETYPE overrides the choice, but
 * only if it is in the environment before OpenBLAS loads: a library cannot fix it from
 * inside the process. So:
 *   - tmlp_blas_best_core() says which core this CPU should run (SkylakeX with AVX-512
 *     F/BW/VL/DQ, Haswell with AVX2+FMA) and tmlp_blas_info.advice says when OpenBLAS runs
 *     a weaker one: a C user reads it, bench_mlp prints it;
 *   - bench_mlp re-executes itself with OPENBLAS_CORETYPE set to that core when the user
 *     did not set it (bench/bench_mlp.c; README "Performance" argues the design) and
 *     marks the child with TMLP_BLAS_CORE_SOURCE=bench_mlp so reports say who chose;
 *   - tmlp_blas_check_core() runs one small sgemm against the scalar kernel, so a core
 *     that is wrong for the CPU is caught before any figure is trusted.
 */
#include "tinymlp/blas.h"

#include "kernels/kernels.h"
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tmlp_status tmlp_blas_set_threads(int n, tmlp_error *err)
{
    if (n < 1)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_blas_set_threads: %d threads, need at least 1",
                              n);
    openblas_set_num_threads(n);
    return TMLP_OK;
}

int tmlp_blas_get_threads(void) { return openblas_get_num_threads(); }

/* Copy src (may be NULL) into dst[cap], always NUL-terminated, trailing spaces trimmed. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ') dst[--n] = '\0';
}

const char *tmlp_blas_best_core(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return "";
}

/* OpenBLAS x86-64 cores that predate AVX2: on a CPU with AVX2 they leave most of it idle. */
static int is_pre_avx2_core(const char *core)
{
    static const char *const old[] = {"Prescott", "Katmai", "Coppermine", "Northwood", "Banias",
                                      "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                                      "Opteron", "Opteron(SSE3)", "Barcelona", "Bobcat",
                                      "Sandybridge", "Bulldozer", "Piledriver", "Steamroller",
                                      "Excavator"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (!strcmp(core, old[i])) return 1;
    return 0;
}

void tmlp_blas_get_info(tmlp_blas_info *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    copy_str(out->name, sizeof out->name, "OpenBLAS");
    copy_str(out->version, sizeof out->version, openblas_get_config());
    copy_str(out->core, sizeof out->core, openblas_get_corename());
    copy_str(out->coretype_env, sizeof out->coretype_env, getenv("OPENBLAS_CORETYPE"));
    copy_str(out->best_core, sizeof out->best_core, tmlp_blas_best_core());
    const char *src = getenv("TMLP_BLAS_CORE_SOURCE");
    if (!out->coretype_env[0] && src && !strcmp(src, "rejected"))
        copy_str(out->core_source, sizeof out->core_source, "OpenBLAS (bench_mlp's pick failed its check)");
    else if (!out->coretype_env[0])
        copy_str(out->core_source, sizeof out->core_source, "OpenBLAS (its own cpuid)");
    else if (src && !strcmp(src, "bench_mlp"))
        copy_str(out->core_source, sizeof out->core_source, "bench_mlp (cpuid, re-executed)");
    else
        copy_str(out->core_source, sizeof out->core_source, "user (OPENBLAS_CORETYPE)");
    out->threads = openblas_get_num_threads();
    out->parallel = openblas_get_parallel();
    if (out->best_core[0] && is_pre_avx2_core(out->core))
        snprintf(out->advice, sizeof out->advice,
                 "OpenBLAS runs its '%s' kernels (it does not recognise this CPU) although the "
                 "CPU has %s: set OPENBLAS_CORETYPE=%s before the program starts",
                 out->core, strcmp(out->best_core, "SkylakeX") ? "AVX2 and FMA" : "AVX-512",
                 out->best_core);
}

tmlp_status tmlp_blas_check_core(double *max_error, tmlp_error *err)
{
    /* y(B,out) = x(B,in) W^T by sgemm and by the scalar kernel, B x in x out = 7 x 37 x 29:
     * odd sizes so that edge code runs. The error is relative to the size of the terms,
     * |y_sgemm - y_scalar| / sum_k |x_k w_k|, as in tests/test_kernels.c. */
    enum { B = 7, IN = 37, OUT = 29 };
    float x[B * IN], w[OUT * IN], y[B * OUT], ref[B * OUT];
    for (int i = 0; i < B * IN; i++) x[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    for (int i = 0; i < OUT * IN; i++) w[i] = (float)((i * 53 % 97) - 48) / 48.0f;
    tmlp_packed p;
    if (tmlp_packed_create(NULL, IN, OUT, w, NULL, &p) != TMLP_OK)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "blas: check_core: out of memory");
    tmlp_kernel_scalar(&p, x, ref, B, TMLP_EPILOGUE_NONE);
    tmlp_packed_destroy(NULL, &p);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, y, OUT);
    double worst = 0.0;
    for (int r = 0; r < B; r++)
        for (int j = 0; j < OUT; j++) {
            double mag = 0.0;
            for (int k = 0; k < IN; k++) mag += fabs((double)x[r * IN + k] * w[j * IN + k]);
            const double e = fabs((double)y[r * OUT + j] - ref[r * OUT + j]) / (mag + 1e-30);
            if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
        }
    if (max_error) *max_error = worst;
    if (worst <= 1e-5) return TMLP_OK;
    return tmlp_error_set(err, TMLP_ERR_STATE,
                          "blas: check_core: sgemm differs from the scalar kernel by %.3g (relative; the "
                          "limit is 1e-5): OpenBLAS's core is wrong for this CPU, set OPENBLAS_CORETYPE",
                          worst);
}
