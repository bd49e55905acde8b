/* reports_util.h — helpers shared by the reports subcommands (report, ab, regress,
 * profile, plan): resolving a model and a data set the same way the default run does,
 * reading a results JSON file, and small number formatting. Header-only (static inline)
 * so each cmd_<name>.c stays a self-contained translation unit.
 *
 * Model spec: a .safetensors or ONNX path, "synthetic:784x512x512x10" (seeded random MLP, seed
 * 42 as in the default run) or NULL = models/fashion_mlp.safetensors if present, else
 * synthetic:784x512x512x10. Data: "fashion" (Fashion-MNIST test set, labelled),
 * "synthetic" (4096 seeded uniform inputs, seed 7) or NULL = fashion for a 784-input
 * model with preprocessing when the files exist, else synthetic.
 */
#ifndef TMLP_BENCH_REPORTS_UTIL_H
#define TMLP_BENCH_REPORTS_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench_config.h"
#include "cli.h"
#include "result_check.h"
#include "run.h"
#include "tinymlp.h"
#include "tinymlp.h"

#define RU_DEFAULT_SYNTHETIC "synthetic:784x512x512x10"
#define RU_MODEL_SEED 42
#define RU_DATA_SEED 7
#define RU_DATA_COUNT 4096

static inline int ru_file_exists(const char *p) { return access(p, R_OK) == 0; }

/* Load a model from a spec (see above). `source` receives what was loaded. Prints a
 * one-line error and returns TMLP_EXIT_RUNTIME / TMLP_EXIT_USAGE on failure. */
static inline int ru_load_model(const char *spec, const char *layers, tmlp_model **out, char *source,
                                size_t cap)
{
    tmlp_error err = {0};
    tmlp_status st;
    char def[4096];
    if (!spec) {
        spec = tmlp_find_default_model(def, sizeof def) ? def : RU_DEFAULT_SYNTHETIC;
    }
    snprintf(source, cap, "%s", spec);
    if (!strncmp(spec, "synthetic:", 10)) {
        int64_t w[16];
        int n = 0, rc;
        if ((rc = tmlp_cli_parse_synthetic(spec, w, 16, &n))) return rc;
        tmlp_model_options o = tmlp_cli_model_options();
        st = tmlp_model_random(w, n, RU_MODEL_SEED, &o, out, &err);
    } else {
        tmlp_cli_inputs_add(spec == def ? "the default model" : "--model", spec);
        tmlp_model_options o = tmlp_cli_model_options(); /* --kernels, --precision */
        o.layers = layers;
        st = tmlp_model_load(spec, &o, out, &err);
    }
    if (st != TMLP_OK) {
        tmlp_cli_error("--model %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

static inline int ru_load_data(const char *spec, const tmlp_model *m, tmlp_dataset **out, char *source,
                               size_t cap)
{
    tmlp_error err = {0};
    tmlp_status st;
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    int64_t width = tmlp_model_input_width(m);
    int have_fashion = ru_file_exists(images) && ru_file_exists(labels);
    if (!spec)
        spec = width == 784 && tmlp_model_preprocess(m).has_preprocess && have_fashion ? "fashion" : "synthetic";
    if (strcmp(spec, "synthetic") && strcmp(spec, "fashion")) tmlp_cli_inputs_add("--data", spec);
    if (!strcmp(spec, "synthetic")) {
        st = tmlp_dataset_synthetic(RU_DATA_COUNT, width, RU_DATA_SEED, NULL, out, &err);
        snprintf(source, cap, "synthetic (%d uniform inputs, seed %d)", RU_DATA_COUNT, RU_DATA_SEED);
    } else if (!strcmp(spec, "fashion")) {
        if (!have_fashion) {
            tmlp_cli_error("--data fashion: %s not found (install dataset-fashion-mnist)", images);
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_cli_inputs_add("--data fashion (images)", images);
        tmlp_cli_inputs_add("--data fashion (labels)", labels);
        st = tmlp_dataset_load_idx(images, labels, NULL, out, &err);
        snprintf(source, cap, "%s", images);
    } else if (strlen(spec) > 12 && !strcmp(spec + strlen(spec) - 12, ".safetensors")) {
        st = tmlp_dataset_load_safetensors(spec, NULL, out, &err);
        snprintf(source, cap, "%s", spec);
    } else {
        st = tmlp_dataset_load_idx(spec, NULL, NULL, out, &err);
        snprintf(source, cap, "%s", spec);
    }
    if (st != TMLP_OK) {
        tmlp_cli_error("--data %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
        return TMLP_EXIT_RUNTIME;
    }
    if ((*out)->width != width) {
        tmlp_cli_error("--data %s: samples have %lld values but the model takes %lld inputs", spec,
                       (long long)(*out)->width, (long long)width);
        tmlp_dataset_destroy(*out);
        *out = NULL;
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* Read a results file: size cap, parse, and the checks of result_check.c. Prints the one
 * error line ("FILE: /runs/0/latency_ns/p50: ...") and returns NULL on failure. */
static inline cJSON *ru_read_json(const char *path)
{
    char msg[1024];
    cJSON *j = tmlp_result_read(path, msg, sizeof msg);
    if (!j) tmlp_cli_error("%s", msg);
    else tmlp_cli_inputs_add("the results file", path); /* never to be overwritten */
    return j;
}

/* Numeric member or NaN when absent/null/not a number. */
static inline double ru_num(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static inline const char *ru_str(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* The item at a dotted path ("model.file_fnv1a64"), or NULL; a path part of 64 bytes or
 * more matches nothing. */
static inline const cJSON *ru_json_at(const cJSON *o, const char *path)
{
    char key[64];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

/* A JSON scalar as short text: strings as they are, numbers with 17 digits, true/false,
 * null; `absent` for a NULL item, "(object)" for an object or array. */
static inline void ru_json_text(const cJSON *v, const char *absent, char *buf, size_t cap)
{
    if (!v) snprintf(buf, cap, "%s", absent);
    else if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v)) snprintf(buf, cap, "null");
    else snprintf(buf, cap, "(object)");
}

/* The first object of array arr whose string member `key` equals value, or NULL. */
static inline const cJSON *ru_find_by(const cJSON *arr, const char *key, const char *value)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) {
        const char *s = ru_str(x, key);
        if (s && !strcmp(s, value)) return x;
    }
    return NULL;
}

/* A JSON array of numbers as a malloc'ed int64 array (NULL and *n = 0 if absent). */
static inline int64_t *ru_i64_array(const cJSON *o, const char *key, int64_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = 0;
    if (!cJSON_IsArray(a)) return NULL;
    int len = cJSON_GetArraySize(a);
    if (len < 1) return NULL;
    int64_t *v = malloc((size_t)len * sizeof *v);
    if (!v) return NULL;
    const cJSON *x;
    int64_t k = 0;
    cJSON_ArrayForEach(x, a) {
        if (cJSON_IsNumber(x) && x->valuedouble >= 0) v[k++] = (int64_t)x->valuedouble;
    }
    *n = k;
    return v;
}

/* qsort comparators for latency arrays. */
static inline int ru_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static inline int ru_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Percentile p of n ascending u64 values by LoadGen's rule (the library's one rule,
 * tmlp_stats_percentile_rank); NaN if n < 1. */
static inline double ru_pct_sorted_u64(const uint64_t *s, int64_t n, double p)
{
    int64_t lo, hi;
    double t;
    if (!tmlp_stats_percentile_rank(n, p, TMLP_PCT_LOADGEN, &lo, &hi, &t)) return NAN;
    return (double)s[lo]; /* LOADGEN: lo == hi */
}

/* int64 ns -> double array (for the stats module); NULL on OOM. */
static inline double *ru_to_double(const int64_t *v, int64_t n)
{
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (!d) return NULL;
    for (int64_t i = 0; i < n; i++) d[i] = (double)v[i];
    return d;
}

/* ---- per-layer profile (computed in cmd_profile.c, also used by report) ------------- */

#define RU_MAX_LAYERS 32

typedef struct ru_stage {
    double mean_ns, p50_ns, p99_ns;
} ru_stage;

typedef struct ru_profile {
    int64_t batch, iterations;
    int n_layers;
    char names[RU_MAX_LAYERS][64];      /* "0 dense 784->512", "1 gelu 512->512 (fused into layer 0)" */
    ru_stage layer[RU_MAX_LAYERS];
    double share[RU_MAX_LAYERS];        /* of the summed layer means */
    double flops[RU_MAX_LAYERS];        /* per forward of `batch` rows */
    double bytes[RU_MAX_LAYERS];        /* weights + input + output activations */
    ru_stage preprocess, forward, postprocess, total;
    double peak_gflops;                 /* measured sgemm 512^3 */
    int blas_threads;
    double dram_gbs;                    /* measured streaming read, 64 MB */
    /* The roof of each layer: where its weights live and how fast that level streams. */
    char kernel[RU_MAX_LAYERS][16];     /* Dense: the kernel at this batch ("avx512", "blas"); else "" */
    double weight_bytes[RU_MAX_LAYERS]; /* bytes of weights the layer streams per forward */
    char level[RU_MAX_LAYERS][8];       /* "L1", "L2", "L3" or "DRAM": the smallest that holds them */
    double level_gbs[RU_MAX_LAYERS];    /* measured streaming read over a working set of that size */
    const char *input_kind;             /* what the input stage does (u8 preprocessing or f32 gather) */
} ru_profile;

/* Profile `iterations` forwards of `batch` seeded-random samples (after `warmup`).
 * Returns 0 or a CLI exit code (message printed). Defined in cmd_profile.c. */
int ru_profile_run(const tmlp_model *m, const tmlp_dataset *d, int64_t batch, int64_t warmup, int64_t iterations,
                   ru_profile *out);
/* Same, reusing the peak and bandwidth probes of an earlier profile (one roofline). */
int ru_profile_run_with(const tmlp_model *m, const tmlp_dataset *d, int64_t batch, int64_t warmup,
                        int64_t iterations, const ru_profile *probes, ru_profile *out);
/* The roofline table and the pipeline table as Markdown-ish text lines on f. */
void ru_profile_print(FILE *f, const ru_profile *p);

#endif
