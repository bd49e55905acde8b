/* cmd_profile.c — `bench_mlp profile`: where the time of one inference goes.
 *
 * 1. Per layer, inside the forward pass (tmlp_session_forward_profiled: two clock reads
 *    per layer): mean, p50 and p99 over the iterations, and the share of the total.
 * 2. A roofline table. For a layer of a forward with B rows:
 *        FLOPs     Dense 2*in*out*B (+ out*B bias); ReLU out*B; softmax ~3*out*B
 *        bytes     weights + input activations + output activations (F32)
 *        intensity I = FLOPs / bytes            (FLOP per byte moved)
 *        achieved  FLOPs / mean time            (GFLOP/s)
 *    against the MEASURED peak of this machine's BLAS: a 512x512x512 sgemm repeated for
 *    ~0.2 s (peak P, GFLOP/s), and a streaming read of 64 MB (DRAM bandwidth W, GB/s).
 *    Each layer also gets its own roof: its weights (packed, if our kernel runs it at this
 *    batch) fit in some cache level (L1, L2, L3 from sysconf, else DRAM); a streaming read
 *    over a working set of exactly that size, with the widest loads the CPU has, gives
 *    that level's bandwidth Wl. The layer cannot run faster than
 *        max(bytes / Wl, FLOPs / P)
 *    and is memory-bound at that level when the first term is the larger: so a layer is
 *    never called "memory-bound" while running above its own roof.
 * 3. The end-to-end pipeline per query: input preparation (gather the batch; for u8
 *    images also the model's preprocessing x = (raw*scale - mean)/std), the forward pass,
 *    and postprocessing (argmax per row), each with its percentiles; the bottleneck is
 *    the stage with the largest mean, and within the forward the largest layer.
 */
#include <cblas.h>
#include <getopt.h> /* struct option */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"

/* sgemm C = A B, 512^3, repeated for ~0.2 s in all; GFLOP/s. */
static double probe_sgemm(void)
{
    enum { N = 512 };
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N), *c = malloc(sizeof(float) * N * N);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return NAN;
    }
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)((i * 7) % 13) * 0.01f;
        b[i] = (float)((i * 5) % 11) * 0.01f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N); /* warm */
    /* best of 4 rounds of ~50 ms: a busy neighbour can only slow a round down, so the
     * fastest round is the closest to the machine's peak */
    double best = 0;
    for (int round = 0; round < 4; round++) {
        int reps = 0;
        uint64_t t0 = tmlp_time_now_ns(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
            reps++;
            t = tmlp_time_now_ns() - t0;
        } while (t < 50000000ULL);
        double gf = 2.0 * N * N * N * reps / (double)t;
        if (gf > best) best = gf;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* Sum a 64 MB array (larger than any cache here) as 64-bit integers (integer adds
 * vectorize; float adds in order would measure the add latency instead): GB/s of a
 * streaming read, best of 3. */
static double probe_bandwidth(void)
{
    size_t n = (64u << 20) / sizeof(uint64_t);
    uint64_t *x = malloc(n * sizeof *x);
    if (!x) return NAN;
    for (size_t i = 0; i < n; i++) x[i] = i & 7;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < 3; r++) {
        uint64_t t0 = tmlp_time_now_ns();
        uint64_t s = 0;
        for (size_t i = 0; i < n; i++) s += x[i];
        uint64_t dt = tmlp_time_now_ns() - t0;
        sink = s;
        double gbs = (double)(n * sizeof *x) / (double)dt;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    free(x);
    return best;
}

/* Streaming read of a working set of `bytes` (at least 16 KB), repeated so that it stays
 * in the level that holds it, with the widest loads the CPU has: GB/s, best of 3 rounds
 * of ~20 ms. */
static double probe_level_bandwidth(double bytes)
{
    size_t n = (size_t)(bytes < 16384 ? 16384 : bytes) / sizeof(float);
    n = (n + 127) & ~(size_t)127;
    float *x = aligned_alloc(64, n * sizeof *x);
    if (!x) return NAN;
    for (size_t i = 0; i < n; i++) x[i] = (float)(i & 7);
    const tmlp_kernel k = tmlp_kernel_available(TMLP_KERNEL_AVX512) ? TMLP_KERNEL_AVX512
                          : tmlp_kernel_available(TMLP_KERNEL_AVX2) ? TMLP_KERNEL_AVX2 : TMLP_KERNEL_SCALAR;
    volatile float sink = tmlp_stream_sum(k, x, n); /* warm: bring it into the level */
    double best = 0;
    for (int r = 0; r < 3; r++) {
        long reps = 0;
        uint64_t t0 = tmlp_time_now_ns(), t;
        do {
            sink = tmlp_stream_sum(k, x, n);
            reps++;
            t = tmlp_time_now_ns() - t0;
        } while (t < 20000000ULL);
        double gbs = (double)reps * (double)(n * sizeof *x) / (double)t;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    free(x);
    return best;
}

/* The smallest cache level holding `bytes` (sysconf; a level it does not report is skipped). */
static const char *level_of(double bytes)
{
    static const struct { int name; const char *label; } lv[] = {
        {_SC_LEVEL1_DCACHE_SIZE, "L1"}, {_SC_LEVEL2_CACHE_SIZE, "L2"}, {_SC_LEVEL3_CACHE_SIZE, "L3"}};
    for (int i = 0; i < 3; i++) {
        long sz = sysconf(lv[i].name);
        if (sz > 0 && bytes <= (double)sz) return lv[i].label;
    }
    return "DRAM";
}

static ru_stage stage_of(uint64_t *v, int64_t n)
{
    ru_stage s = {0, 0, 0};
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)v[i];
    qsort(v, (size_t)n, sizeof *v, ru_cmp_u64);
    s.mean_ns = sum / (double)n;
    s.p50_ns = ru_pct_sorted_u64(v, n, 0.50);
    s.p99_ns = ru_pct_sorted_u64(v, n, 0.99);
    return s;
}

/* Name, kernel, FLOPs and bytes of each of the L layers of m at `batch` rows into out. */
static int profile_describe(const tmlp_model *m, int L, int64_t batch, ru_profile *out)
{
    for (int i = 0; i < L; i++) {
        tmlp_layer_info li;
        if (tmlp_model_layer_info(m, i, &li, NULL) != TMLP_OK) return -1;
        /* a layer that runs inside a Dense says which (tmlp_layer_info.fused_into) */
        char how[48] = "";
        if (li.fused_into >= 0)
            snprintf(how, sizeof how, li.kind == TMLP_LAYER_BATCHNORM ? " (folded into layer %d at load)"
                                                                      : " (fused into layer %d)", li.fused_into);
        else if (li.kind == TMLP_LAYER_DROPOUT || li.kind == TMLP_LAYER_IDENTITY)
            snprintf(how, sizeof how, " (skipped)");
        snprintf(out->names[i], sizeof out->names[i], "%d %s %" PRId64 "->%" PRId64 "%s", i, li.name, li.in_width,
                 li.out_width, how);
        out->flops[i] = (double)li.flops_per_sample * (double)batch;
        const int own = li.kind == TMLP_LAYER_DENSE && li.kernel != TMLP_KERNEL_BLAS && batch <= li.crossover;
        snprintf(out->kernel[i], sizeof out->kernel[i], "%s%s%s",
                 li.kind != TMLP_LAYER_DENSE ? "" : own ? tmlp_kernel_name(li.kernel) : "blas",
                 li.kind == TMLP_LAYER_DENSE && li.precision > TMLP_PRECISION_F32 ? " " : "",
                 li.kind == TMLP_LAYER_DENSE && li.precision > TMLP_PRECISION_F32 ? tmlp_precision_name(li.precision) : "");
        /* the weight bytes one forward streams at the layer's precision (BF16 half, INT8 a
         * quarter plus its scales), not the F32 parameters */
        out->weight_bytes[i] = own ? (double)(li.stream_bytes ? li.stream_bytes : li.packed_bytes) : (double)li.weight_bytes;
        out->bytes[i] = out->weight_bytes[i] + 4.0 * (double)batch * (double)(li.in_width + li.out_width);
    }
    return 0;
}

/* The memory level of each layer's bytes and its bandwidth: one probe per level that holds
 * some layer, at the size of the largest such layer (DRAM: the DRAM probe already taken). */
static void profile_levels(ru_profile *out, int L)
{
    for (int l = 0; l < L; l++) {
        snprintf(out->level[l], sizeof out->level[l], "%s", level_of(out->bytes[l]));
        out->level_gbs[l] = NAN;
    }
    for (int l = 0; l < L; l++) {
        if (!isnan(out->level_gbs[l])) continue;
        if (!strcmp(out->level[l], "DRAM")) {
            for (int j = l; j < L; j++)
                if (!strcmp(out->level[j], "DRAM")) out->level_gbs[j] = out->dram_gbs;
            continue;
        }
        double biggest = out->bytes[l];
        for (int j = l + 1; j < L; j++)
            if (!strcmp(out->level[j], out->level[l]) && out->bytes[j] > biggest) biggest = out->bytes[j];
        const double gbs = probe_level_bandwidth(biggest);
        for (int j = l; j < L; j++)
            if (!strcmp(out->level[j], out->level[l])) out->level_gbs[j] = gbs;
    }
}

int ru_profile_run(const tmlp_model *m, const tmlp_dataset *d, int64_t batch, int64_t warmup, int64_t iters,
                   ru_profile *out)
{
    return ru_profile_run_with(m, d, batch, warmup, iters, NULL, out);
}

int ru_profile_run_with(const tmlp_model *m, const tmlp_dataset *d, int64_t batch, int64_t warmup, int64_t iters,
                        const ru_profile *probes, ru_profile *out)
{
    memset(out, 0, sizeof *out);
    int L = tmlp_model_layer_count(m);
    if (L < 1 || L > RU_MAX_LAYERS) {
        tmlp_cli_error("profile: the model has %d layers (1..%d supported)", L, RU_MAX_LAYERS);
        return TMLP_EXIT_RUNTIME;
    }
    int64_t in_w = tmlp_model_input_width(m), out_w = tmlp_model_output_width(m);
    out->batch = batch;
    out->iterations = iters;
    out->n_layers = L;
    if (profile_describe(m, L, batch, out)) return TMLP_EXIT_RUNTIME;
    tmlp_session *s = NULL;
    if (tmlp_session_create(m, batch, &s, NULL) != TMLP_OK) {
        tmlp_cli_error("profile: cannot create a session of batch %" PRId64 " (out of memory)", batch);
        return TMLP_EXIT_RUNTIME;
    }
    size_t n_iter = (size_t)iters;
    float *x = malloc(sizeof(float) * (size_t)(batch * in_w));
    uint64_t *lay = malloc(sizeof(uint64_t) * n_iter * (size_t)L);
    uint64_t *pre = malloc(sizeof(uint64_t) * n_iter), *fwd = malloc(sizeof(uint64_t) * n_iter);
    uint64_t *post = malloc(sizeof(uint64_t) * n_iter), *tot = malloc(sizeof(uint64_t) * n_iter);
    int64_t *pred = malloc(sizeof(int64_t) * (size_t)batch);
    uint64_t *tmp = malloc(sizeof(uint64_t) * n_iter);
    int rc = 0;
    if (!x || !lay || !pre || !fwd || !post || !tot || !pred || !tmp) {
        tmlp_cli_error("profile: out of memory for %" PRId64 " iterations", iters);
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    /* the model's preprocessing as a 256-entry table, applied exactly as forward_u8 does
     * (the same lookup function, AVX-512 where cpuid has it) */
    tmlp_preprocess pp = tmlp_model_preprocess(m);
    float table[TMLP_PREPROCESS_TABLE_FLOATS];
    tmlp_preprocess_table(&pp, table);
    out->input_kind = d->dtype == TMLP_DTYPE_U8
                          ? "gather u8 rows + model preprocessing to f32"
                          : "gather f32 rows; a bench_mlp run reads them in place";
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 12345);
    uint64_t layer_ns[RU_MAX_LAYERS];
    for (int64_t it = -warmup; it < iters; it++) {
        uint64_t t0 = tmlp_time_now_ns();
        for (int64_t r = 0; r < batch; r++) {
            int64_t idx = (int64_t)tmlp_rng_below(&rng, (uint64_t)d->count);
            float *row = x + r * in_w;
            if (d->dtype == TMLP_DTYPE_U8) {
                tmlp_preprocess_u8(table, d->u8 + idx * in_w, row, in_w);
            } else {
                memcpy(row, d->f32 + idx * in_w, sizeof(float) * (size_t)in_w);
            }
        }
        uint64_t t1 = tmlp_time_now_ns();
        tmlp_tensor in = tmlp_tensor_2d(x, batch, in_w), o;
        if (tmlp_session_forward_profiled(s, &in, &o, layer_ns, NULL) != TMLP_OK) {
            tmlp_cli_error("profile: forward failed");
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
        uint64_t t2 = tmlp_time_now_ns();
        for (int64_t r = 0; r < batch; r++) pred[r] = tmlp_argmax(o.data + r * out_w, out_w);
        uint64_t t3 = tmlp_time_now_ns();
        if (it < 0) continue;
        pre[it] = t1 - t0;
        fwd[it] = t2 - t1;
        post[it] = t3 - t2;
        tot[it] = t3 - t0;
        for (int l = 0; l < L; l++) lay[(size_t)l * n_iter + (size_t)it] = layer_ns[l];
    }
    double sum_means = 0;
    for (int l = 0; l < L; l++) {
        out->layer[l] = stage_of(lay + (size_t)l * n_iter, iters);
        sum_means += out->layer[l].mean_ns;
    }
    for (int l = 0; l < L; l++) out->share[l] = sum_means > 0 ? out->layer[l].mean_ns / sum_means : 0;
    out->preprocess = stage_of(pre, iters);
    out->forward = stage_of(fwd, iters);
    out->postprocess = stage_of(post, iters);
    out->total = stage_of(tot, iters);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    out->blas_threads = bi.threads;
    out->peak_gflops = probes ? probes->peak_gflops : probe_sgemm();
    out->dram_gbs = probes ? probes->dram_gbs : probe_bandwidth();
    profile_levels(out, L);
done:
    free(x);
    free(lay);
    free(pre);
    free(fwd);
    free(post);
    free(tot);
    free(pred);
    free(tmp);
    tmlp_session_destroy(s);
    return rc;
}

void ru_profile_print(FILE *f, const ru_profile *p)
{
    char a[24], b[24], c[24];
    double ridge = p->peak_gflops / p->dram_gbs;
    fprintf(f, "Measured peak: sgemm 512x512x512 %.1f GFLOP/s (%d BLAS thread%s); streaming read "
               "64 MB %.1f GB/s; ridge point %.2f FLOP/byte\n", p->peak_gflops, p->blas_threads, p->blas_threads == 1 ? "" : "s", p->dram_gbs, ridge);
    fprintf(f, "Roof per layer: max(bytes / bandwidth of the level holding its weights, FLOPs / peak); "
               "%% of roof = roof / p50 (100%% = at the limit)\n\n");
    fprintf(f, "Per layer, batch %" PRId64 ", %" PRId64 " forwards (a layer fused or folded into a Dense reports its time on the Dense)\n",
            p->batch, p->iterations);
    fprintf(f, "| layer | kernel | mean | p50 | p99 | share | MFLOP | KB moved | FLOP/byte | GFLOP/s | %% of peak "
               "| held in | level GB/s | roof | %% of roof | bound | GB/s at p50 |\n");
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|\n");
    for (int l = 0; l < p->n_layers; l++) {
        const ru_stage *s = &p->layer[l];
        double ai = p->flops[l] / p->bytes[l];
        double gf = s->mean_ns > 0 ? p->flops[l] / s->mean_ns : NAN;
        fprintf(f, "| %s | %s | %s | %s | %s | %.1f%% | %.3f | %.1f | %.2f | ", p->names[l],
                p->kernel[l][0] ? p->kernel[l] : "-", tmlp_cli_fmt_ns(s->mean_ns, a, sizeof a), tmlp_cli_fmt_ns(s->p50_ns, b, sizeof b),
                tmlp_cli_fmt_ns(s->p99_ns, c, sizeof c), 100 * p->share[l], p->flops[l] / 1e6, p->bytes[l] / 1024,
                ai);
        if (s->mean_ns > 0 && isfinite(gf)) fprintf(f, "%.2f | %.1f%% | ", gf, 100 * gf / p->peak_gflops);
        else fprintf(f, "- | - | ");
        /* the layer's own roof: bytes at its level's bandwidth, or FLOPs at the peak */
        const double mem_ns = p->bytes[l] / p->level_gbs[l], cpu_ns = p->flops[l] / p->peak_gflops;
        const double roof_ns = mem_ns > cpu_ns ? mem_ns : cpu_ns;
        fprintf(f, "%s | %.1f | %s | ", p->level[l], p->level_gbs[l], tmlp_cli_fmt_ns(roof_ns, a, sizeof a));
        /* against p50: the mean carries the machine's hiccups, the roof is a best-of probe */
        const double pct_roof = s->p50_ns > 0 ? 100 * roof_ns / s->p50_ns : 0;
        if (s->mean_ns > 0) fprintf(f, "%.0f%% | ", pct_roof);
        else fprintf(f, "- | ");
        char bound[64];
        if (pct_roof > 100)
            snprintf(bound, sizeof bound, "above its roof: probe disturbed, rerun");
        else
            snprintf(bound, sizeof bound, mem_ns > cpu_ns ? "memory (%s)" : "compute", p->level[l]);
        fprintf(f, "%s | ", s->mean_ns <= 0 ? "none of its own" : bound);
        /* achieved bandwidth: the bytes the layer moves (weights at its precision + F32
         * activations) over its p50 */
        if (s->p50_ns > 0) fprintf(f, "%.1f |\n", p->bytes[l] / s->p50_ns);
        else fprintf(f, "- |\n");
    }
    fprintf(f, "\nPipeline per query of %" PRId64 " sample%s (%s)\n", p->batch, p->batch == 1 ? "" : "s",
            p->input_kind);
    fprintf(f, "| stage | mean | p50 | p99 | share of mean total |\n|---|---:|---:|---:|---:|\n");
    const ru_stage *st[4] = {&p->preprocess, &p->forward, &p->postprocess, &p->total};
    static const char *const names[4] = {"input (decode/preprocess)", "forward", "postprocess (argmax)", "total"};
    for (int i = 0; i < 4; i++)
        fprintf(f, "| %s | %s | %s | %s | %.1f%% |\n", names[i], tmlp_cli_fmt_ns(st[i]->mean_ns, a, sizeof a),
                tmlp_cli_fmt_ns(st[i]->p50_ns, b, sizeof b), tmlp_cli_fmt_ns(st[i]->p99_ns, c, sizeof c),
                100 * st[i]->mean_ns / p->total.mean_ns);
    int big = 0;
    for (int i = 1; i < 3; i++)
        if (st[i]->mean_ns > st[big]->mean_ns) big = i;
    int bl = 0;
    for (int l = 1; l < p->n_layers; l++)
        if (p->layer[l].mean_ns > p->layer[bl].mean_ns) bl = l;
    double gf = p->flops[bl] / p->layer[bl].mean_ns;
    fprintf(f, "\nBottleneck: %s (%.1f%% of the query time)", names[big], 100 * st[big]->mean_ns / p->total.mean_ns);
    if (big == 1)
        fprintf(f, "; inside it, layer \"%s\" takes %.1f%% of the forward at %.1f GFLOP/s = %.1f%% of the "
                   "measured sgemm peak (%s-bound: %.2f FLOP/byte vs ridge %.2f)",
                p->names[bl], 100 * p->share[bl], gf, 100 * gf / p->peak_gflops,
                p->flops[bl] / p->bytes[bl] < ridge ? "memory" : "compute", p->flops[bl] / p->bytes[bl], ridge);
    fprintf(f, ".\n");
}

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp profile [OPTIONS]\n"
          "Time each layer inside the forward pass, with FLOPs, bytes moved, arithmetic intensity and\n"
          "achieved GFLOP/s against the measured sgemm peak (a roofline table), and the end-to-end\n"
          "pipeline (input preparation, forward, argmax) with percentiles; names the bottleneck.\n"
          "  --model PATH|synthetic:AxBx..  default: models/fashion_mlp.safetensors, else\n"
          "                                 " RU_DEFAULT_SYNTHETIC "\n"
          "  --layers LIST                  layer list of a .safetensors model\n"
          "  --data fashion|synthetic|PATH  inputs (default as the default run)\n"
          "  --batch N                      rows per forward (default 1)\n"
          "  --iterations N                 measured forwards (default 2000)\n"
          "  --warmup N                     unmeasured forwards first (default 100)\n"
          "  --blas-threads N               OpenBLAS threads (default 1)\n"
          "  --kernels K                    Dense kernel (scalar|avx2|avx512|blas|neon|neon_dotprod|neon_bf16|auto;\n"
          "                                 every command)\n"
          "  --precision P                  weight precision (f32|bf16|int8|auto; every command)\n"
          "  --svg FILE                     also write the per-layer breakdown plot\n"
          "  --quick                        200 iterations, 20 warm-up (explicit options win)\n"
          "  --version                      library version and git revision\n"
          "  -h, --help                     this help\n",
          f);
}

/* The options. */
typedef struct profile_args {
    const char *model, *layers, *data, *svg_path;
    int64_t batch, iters, warmup, threads; /* iters, warmup: -1 until given or defaulted */
    int quick;
} profile_args;

enum { PROF_MODEL = 256, PROF_LAYERS, PROF_DATA, PROF_SVG, PROF_BATCH, PROF_ITERATIONS, PROF_BLAS_THREADS, PROF_WARMUP,
       PROF_QUICK, PROF_HELP };
static const struct option profile_options[] = {
    {"model", required_argument, NULL, PROF_MODEL},     {"layers", required_argument, NULL, PROF_LAYERS},
    {"data", required_argument, NULL, PROF_DATA},       {"svg", required_argument, NULL, PROF_SVG},
    {"batch", required_argument, NULL, PROF_BATCH},     {"iterations", required_argument, NULL, PROF_ITERATIONS},
    {"blas-threads", required_argument, NULL, PROF_BLAS_THREADS},
    {"warmup", required_argument, NULL, PROF_WARMUP},   {"quick", no_argument, NULL, PROF_QUICK},
    {"help", no_argument, NULL, PROF_HELP},             {NULL, 0, NULL, 0}};

/* One option into the profile_args at ctx (a tmlp_cli_option_fn). */
static int profile_option(void *ctx, int c, const char *v)
{
    profile_args *a = ctx;
    switch (c) {
    case PROF_MODEL: a->model = v; return 0;
    case PROF_LAYERS: a->layers = v; return 0;
    case PROF_DATA: a->data = v; return 0;
    case PROF_SVG: a->svg_path = v; return 0;
    case PROF_BATCH: return tmlp_cli_parse_i64("--batch", v, 1, 65536, &a->batch);
    case PROF_ITERATIONS: return tmlp_cli_parse_i64("--iterations", v, 10, 10000000, &a->iters);
    case PROF_BLAS_THREADS: return tmlp_cli_parse_i64("--blas-threads", v, 1, 256, &a->threads);
    case PROF_WARMUP: return tmlp_cli_parse_i64("--warmup", v, 0, 10000000, &a->warmup);
    case PROF_QUICK: a->quick = 1; return 0;
    default: return -1;
    }
}

/* 0, an exit code, or -1 when --help was printed. */
static int profile_parse(int argc, char **argv, profile_args *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    a->batch = 1;
    a->iters = a->warmup = -1;
    a->threads = 1;
    if ((rc = tmlp_cli_getopt(argc, argv, "profile", profile_options, PROF_HELP, print_help, profile_option, a,
                              NULL)))
        return rc;
    if (a->iters < 0) a->iters = a->quick ? 200 : 2000;
    if (a->warmup < 0) a->warmup = a->quick ? 20 : 100;
    return 0;
}

int tmlp_cmd_profile(int argc, char **argv)
{
    profile_args a;
    int rc = profile_parse(argc, argv, &a);
    if (rc) return rc == -1 ? 0 : rc;
    const char *model = a.model, *layers = a.layers, *data = a.data, *svg_path = a.svg_path;
    int64_t batch = a.batch, iters = a.iters, warmup = a.warmup, threads = a.threads;
    if (tmlp_blas_set_threads((int)threads, NULL) != TMLP_OK) {
        tmlp_cli_error("--blas-threads %" PRId64 ": OpenBLAS refused it", threads);
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_model *m = NULL;
    tmlp_dataset *d = NULL;
    char msrc[4096], dsrc[4096];
    if ((rc = ru_load_model(model, layers, &m, msrc, sizeof msrc))) return rc;
    if ((rc = ru_load_data(data, m, &d, dsrc, sizeof dsrc))) {
        tmlp_model_destroy(m);
        return rc;
    }
    /* --svg is opened now, after the model and data (its inputs) are known and before the
     * minutes of profiling: a path that names an input or cannot be written fails at once */
    tmlp_cli_output svg_out = {0};
    if (svg_path && (rc = tmlp_cli_output_open(&svg_out, "--svg", svg_path))) {
        tmlp_dataset_destroy(d);
        tmlp_model_destroy(m);
        return rc;
    }
    ru_profile p;
    char lstr[256];
    tmlp_model_layers_string(m, lstr, sizeof lstr, NULL);
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    printf("Profile of %s (%s), data %s, BLAS %s core %s, %d thread%s\n\n", msrc, lstr, dsrc, bi.name, bi.core,
           bi.threads, bi.threads == 1 ? "" : "s");
    rc = ru_profile_run(m, d, batch, warmup, iters, &p);
    if (!rc) {
        ru_profile_print(stdout, &p);
        if (svg_path) {
            const char *names[RU_MAX_LAYERS];
            double t[RU_MAX_LAYERS];
            for (int l = 0; l < p.n_layers; l++) {
                names[l] = p.names[l];
                t[l] = p.layer[l].mean_ns;
            }
            char *svg = NULL;
            tmlp_error err = {0};
            if (tmlp_svg_layer_breakdown(names, t, p.n_layers, "Time per layer (mean per forward)", &svg, &err)) {
                tmlp_cli_error("--svg: %s", err.message);
                rc = TMLP_EXIT_RUNTIME;
            } else {
                fputs(svg, svg_out.f);
                rc = tmlp_cli_output_commit(&svg_out);
            }
            tmlp_report_string_free(svg);
        }
    }
    tmlp_cli_output_abort(&svg_out);
    tmlp_dataset_destroy(d);
    tmlp_model_destroy(m);
    return rc;
}
