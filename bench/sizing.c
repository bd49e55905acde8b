/* sizing.c — the default offline expected QPS: how many samples LoadGen's sizing rule puts
 * in the one offline query when the user gives neither --offline-samples nor
 * --offline-expected-qps. A fixed rule, printed in the header — never a timed calibration,
 * so the same model, kernels and batch give the same workload (and digest) on every run.
 *
 * The query holds max(min queries, expected x min duration x 1.1) samples, so a run lasts
 * 1.1 x expected / actual x the minimum duration: within [1, 1.36] x expected/actual the
 * default 2 s run is VALID and ends within 3 s. One assumed GFLOP/s for every CPU (an earlier
 * rule: 250) made an AVX2 machine's run 8 s. What a forward sustains depends
 * first on the instruction set the layers run and on the batch, so the rule is by both:
 *
 *     seconds per sample = FLOPs per sample / G(class, batch) + 1 us / batch
 *     expected QPS       = 1 / that, x2 for BF16 weights, x4 for INT8, at most 1M/s
 *
 * class = the ISA of the kernel the Dense layers run at that batch: the model's own kernel
 * (avx512, avx2, scalar) up to its crossover batch, OpenBLAS above it or when forced
 * (--kernels blas), whose class is that of OpenBLAS's core (SkylakeX, Cooperlake,
 * SapphireRapids: avx512; Haswell, Zen, Skylake: avx2; anything older: scalar);
 *
 *     G (GFLOP/s)   batch 1   2-7   8-31   >= 32
 *     avx512           50      90    105     110
 *     avx2             45      60     80      90
 *     scalar           15      15     15      15
 *     blas             45      55   (class of the core, as above)
 *
 * and 1 us per batch is the harness's and the model SUT's own work for one work item.
 * The rates are those of the typical core of each class, end to end — an AVX-512 server
 * core at its AVX-512 clock (~110-130 GFLOP/s: two 512-bit FMA units near 2 GHz, or a Zen 4),
 * an AVX2 core such as the Zen 3 (~86 GFLOP/s sgemm) — and were checked on the
 * development VM, whose Zen 5 vCPUs measured just that on the day (docs/bench_mlp.md, "The
 * offline query's size"). Batch 1 is bound by streaming the weights, on either ISA. A
 * faster machine (a quiet Zen 5 core sustains ~230 GFLOP/s with the avx512 kernels)
 * finishes early: the run is INVALID and says the measured rate to pass as
 * --offline-expected-qps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "tinymlp/blas.h"
#include "tinymlp/kernels.h"

#define NULL_SUT_QPS 1e6   /* the null SUT, and the cap: the harness's bookkeeping per sample */
#define PER_BATCH_NS 1000.0

enum { CLASS_AVX512, CLASS_AVX2, CLASS_SCALAR, CLASS_BLAS_SMALL, N_CLASS };
static const char *const class_name[N_CLASS] = {"avx512", "avx2", "scalar", "blas"};
static const double gflops[N_CLASS][4] = { /* batch 1, 2-7, 8-31, >= 32 */
    {50, 90, 105, 110},
    {45, 60, 80, 90},
    {15, 15, 15, 15},
    {45, 55, 0, 0}, /* blas from batch 8: the class of OpenBLAS's core */
};

static int batch_bucket(int64_t b) { return b <= 1 ? 0 : b < 8 ? 1 : b < 32 ? 2 : 3; }

/* The ISA class of OpenBLAS's core (openblas_get_corename). */
static int blas_core_class(void)
{
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "Skylake", "Cannonlake", "Icelake", "Tigerlake"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (strstr(bi.core, avx512[i])) return CLASS_AVX512;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (strstr(bi.core, avx2[i])) return CLASS_AVX2;
    return CLASS_SCALAR;
}

double tmlp_offline_expected_qps(const tmlp_model *m, int64_t batch, char *why, size_t cap)
{
    if (!m) {
        if (why && cap) snprintf(why, cap, "the null SUT: %g samples/s assumed", NULL_SUT_QPS);
        return NULL_SUT_QPS;
    }
    double flops = 0;
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info li;
        if (tmlp_model_layer_info(m, i, &li, NULL) == TMLP_OK) flops += (double)li.flops_per_sample;
    }
    tmlp_kernel_info ki;
    int have = tmlp_model_kernel_info(m, &ki, NULL) == TMLP_OK;
    int on_blas = have && (ki.kernel == TMLP_KERNEL_BLAS || batch > ki.crossover_max);
    int cls = !have ? CLASS_AVX512
              : on_blas ? CLASS_BLAS_SMALL
              : ki.kernel == TMLP_KERNEL_AVX512 ? CLASS_AVX512
              : ki.kernel == TMLP_KERNEL_AVX2 ? CLASS_AVX2 : CLASS_SCALAR;
    int bucket = batch_bucket(batch);
    char cls_text[48];
    snprintf(cls_text, sizeof cls_text, "%s", class_name[cls]);
    if (cls == CLASS_BLAS_SMALL && bucket >= 2) { /* OpenBLAS at a real batch: its core's ISA */
        cls = blas_core_class();
        snprintf(cls_text, sizeof cls_text, "blas, %s core", class_name[cls]);
    }
    double g = gflops[cls][bucket] * 1e9;
    double mult = have && ki.precision == TMLP_PRECISION_INT8 ? 4.0 : have && ki.precision == TMLP_PRECISION_BF16 ? 2.0 : 1.0;
    double per_sample_ns = flops > 0 ? 1e9 * flops / (g * mult) + PER_BATCH_NS / (double)batch : 0;
    double q = per_sample_ns > 0 ? floor(1e9 / per_sample_ns) : NULL_SUT_QPS;
    if (q > NULL_SUT_QPS) q = NULL_SUT_QPS;
    if (q < 1) q = 1;
    if (why && cap)
        snprintf(why, cap, "%.0f FLOPs/sample / %.0f GFLOP/s (%s, batch %lld)%s + 1 us / batch",
                 flops, g * 1e-9, cls_text, (long long)batch,
                 mult == 4.0 ? " x4 int8" : mult == 2.0 ? " x2 bf16" : "");
    return q;
}
