/* workload.c — "run this workload -> results" (workload.h): the model and data a run
 * measures, the harness settings of each row, and the runs themselves.
 *
 * The pipeline (each step a phase of workload.h):
 *   1. the model: a .safetensors or ONNX file, `synthetic:784x512x512x10` (tmlp_model_random,
 *      seeded) or `null` (tmlp_null_sut: measures the harness itself); default
 *      models/fashion_mlp.safetensors found beside the executable, else the synthetic one;
 *      loaded at the options' weight precision;
 *   2. the data: Fashion-MNIST IDX, a .safetensors (x [N,in], optional y [N]), any IDX
 *      images file (labels found beside it) or seeded synthetic inputs;
 *   3. one tmlp_model_sut (closed loops in the issuing thread, server and offline on
 *      workers x sessions of max_batch rows; --dispatch) serves every run;
 *   4. rows: single-stream, multi-stream, server, then offline once per batch size; with
 *      --repeat N that whole sequence N times, round-robin (repeat.c aggregates), each
 *      repetition a fresh process by default (fresh.c); offline's one query is sized from
 *      settings only (LoadGen's rule, sizing.c): the same settings give the same workload;
 *   5. the resource monitor samples the process from before the first run to after the
 *      last; --mode accuracy at a reduced precision adds the paired comparison with F32.
 * Under mpirun every rank runs its share (mpi_ranks.h) and rank 0 holds the merged rows.
 * SIGINT / SIGTERM set tmlp_cli_stop, which the harness polls: the run drains, is kept
 * INVALID (interrupted), later runs are skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_config.h"
#include "cli.h"
#include "tinymlp/blas.h"
#include "tinymlp/rng.h"
#include "workload.h"

#define MAX_ROWS TMLP_RUN_MAX_ROWS
#define SYNTHETIC_DATA_COUNT 4096
#define SYNTHETIC_MODEL_SEED TMLP_RUN_SYNTHETIC_MODEL_SEED
#define SYNTHETIC_DATA_SEED 7
#define DEFAULT_SYNTHETIC_MODEL TMLP_RUN_DEFAULT_SYNTHETIC_MODEL
#define DEFAULT_MODEL_FILE "fashion_mlp.safetensors"

/* Set by the SIGINT / SIGTERM handler (cli.c), polled by the harness through settings.stop. */
#define g_stop tmlp_cli_stop

/* --- the model and the data ----------------------------------------------------------------- */

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

/* models/fashion_mlp.safetensors: beside the executable's tree (build dir inside the
 * source dir, or an installed prefix: bin/../share/tinymlp/models/), then the configured
 * install location, then the source dir recorded at configure time. */
int tmlp_find_default_model(char *out, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rel[] = {"/../models/", "/../../models/", "/../share/tinymlp/models/"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                int k = snprintf(out, cap, "%s%s%s", exe, rel[i], DEFAULT_MODEL_FILE);
                if (k > 0 && (size_t)k < cap && file_exists(out)) {
                    char *canon = realpath(out, NULL); /* drop the "build/bench/../.." */
                    if (canon && strlen(canon) < cap) snprintf(out, cap, "%s", canon);
                    free(canon);
                    return 1;
                }
            }
        }
    }
    snprintf(out, cap, "%s/models/%s", TMLP_DATA_DIR, DEFAULT_MODEL_FILE);
    if (file_exists(out)) return 1;
    snprintf(out, cap, "%s/models/%s", TMLP_SOURCE_DIR, DEFAULT_MODEL_FILE);
    return file_exists(out);
}

static int fashion_paths(char *images, char *labels, size_t cap)
{
    snprintf(images, cap, "%s/t10k-images-idx3-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    snprintf(labels, cap, "%s/t10k-labels-idx1-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    return file_exists(images) && file_exists(labels);
}

static int hash_file(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char buf[65536];
    uint64_t h = TMLP_HASH64_INIT;
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) h = tmlp_hash64(h, buf, k);
    int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    *out = h;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, n)) return 1;
    return 0;
}

/* An IDX images path -> its labels file beside it ("...images-idx3..." -> "...labels-idx1..."). */
static int idx_labels_beside(const char *images, char *out, size_t cap)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *m = strstr(base, "images-idx3");
    if (!m) m = strstr(base, "images.idx3");
    if (!m) return 0;
    size_t pre = (size_t)(m - images);
    if (pre + strlen("labels-idx1") + strlen(m + 11) + 1 > cap) return 0;
    memcpy(out, images, pre);
    snprintf(out + pre, cap - pre, "%s%s", m[6] == '.' ? "labels.idx1" : "labels-idx1", m + 11);
    return file_exists(out);
}

static int load_model(const tmlp_run_opts *o, tmlp_workload *w)
{
    tmlp_error err = {0};
    tmlp_status st;
    const char *spec = o->model;
    if (!spec) {
        if (tmlp_find_default_model(w->model_source, sizeof w->model_source)) {
            spec = w->model_source;
        } else {
            spec = DEFAULT_SYNTHETIC_MODEL;
            if (!o->quiet)
                tmlp_cli_error("note: models/" DEFAULT_MODEL_FILE " not found; using "
                               DEFAULT_SYNTHETIC_MODEL " (random weights) instead");
        }
    }
    if (spec != w->model_source) snprintf(w->model_source, sizeof w->model_source, "%s", spec);
    w->info.model_source = w->model_source;

    if (!strcmp(spec, "null")) {
        if (o->layers) return tmlp_cli_usage_error("--layers: applies to a .safetensors model, not null");
        w->is_null = 1;
        w->info.model_kind = "null";
        return 0;
    }
    if (!strncmp(spec, "synthetic:", 10)) {
        int64_t widths[16];
        int n = 0, rc;
        if (o->layers)
            return tmlp_cli_usage_error("--layers: applies to a .safetensors model; a synthetic "
                                        "model's layers follow from its widths");
        if ((rc = tmlp_cli_parse_synthetic(spec, widths, 16, &n))) return rc;
        tmlp_model_options mo = tmlp_model_options_default();
        mo.kernel = o->kernel;
        mo.precision = o->precision;
        st = tmlp_model_random(widths, n, SYNTHETIC_MODEL_SEED, &mo, &w->model, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("--model %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->info.model_kind = "synthetic";
        w->info.model_seed = SYNTHETIC_MODEL_SEED;
    } else {
        if (!file_exists(spec)) {
            tmlp_cli_error("--model: cannot read \"%s\": %s", spec, strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_cli_inputs_add(o->model ? "--model" : "the default model", spec);
        tmlp_model_options mo = tmlp_model_options_default();
        mo.layers = o->layers;
        mo.kernel = o->kernel;
        mo.precision = o->precision;
        st = tmlp_model_load(spec, &mo, &w->model, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("--model %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->info.model_kind = "file";
        if (hash_file(spec, &w->info.model_file_hash) == 0) w->info.model_has_file_hash = 1;
    }
    w->info.model = w->model;
    w->info.model_input_width = tmlp_model_input_width(w->model);
    w->info.model_output_width = tmlp_model_output_width(w->model);
    tmlp_model_layers_string(w->model, w->info.model_layers, sizeof w->info.model_layers, NULL);
    for (int i = 0; i < tmlp_model_layer_count(w->model); i++) {
        tmlp_layer_info li;
        if (tmlp_model_layer_info(w->model, i, &li, NULL) == TMLP_OK) w->info.model_params += li.param_count;
    }
    return 0;
}

static int load_data(const tmlp_run_opts *o, tmlp_workload *w)
{
    tmlp_error err = {0};
    tmlp_status st = TMLP_OK;
    const char *spec = o->data;
    int64_t width = w->is_null ? 784 : w->info.model_input_width;
    char images[4096], labels[4096];

    if (!spec) {
        int image_model = !w->is_null && width == 784 &&
                          tmlp_model_preprocess(w->model).has_preprocess;
        spec = image_model && fashion_paths(images, labels, sizeof images) ? "fashion" : "synthetic";
    }
    w->info.data_seed = SYNTHETIC_DATA_SEED;
    if (!strcmp(spec, "synthetic")) {
        st = tmlp_dataset_synthetic(SYNTHETIC_DATA_COUNT, width, SYNTHETIC_DATA_SEED, NULL, &w->data,
                                    &err);
        w->info.data_kind = "synthetic";
        snprintf(w->data_source, sizeof w->data_source, "synthetic");
    } else if (!strcmp(spec, "fashion")) {
        if (!fashion_paths(images, labels, sizeof images)) {
            tmlp_cli_error("--data fashion: %s not found (install the dataset-fashion-mnist package)",
                           images);
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_cli_inputs_add("--data fashion (images)", images);
        tmlp_cli_inputs_add("--data fashion (labels)", labels);
        st = tmlp_dataset_load_idx(images, labels, NULL, &w->data, &err);
        w->info.data_kind = "idx";
        w->info.fashion_names = 1;
        snprintf(w->data_source, sizeof w->data_source, "%s", images);
        snprintf(w->data_labels, sizeof w->data_labels, "%s", labels);
        w->info.data_labels = w->data_labels;
    } else {
        if (!file_exists(spec)) {
            tmlp_cli_error("--data: cannot read \"%s\": %s", spec, strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        snprintf(w->data_source, sizeof w->data_source, "%s", spec);
        tmlp_cli_inputs_add("--data", spec);
        if (ends_with(spec, ".safetensors")) {
            st = tmlp_dataset_load_safetensors(spec, NULL, &w->data, &err);
            w->info.data_kind = "safetensors";
        } else {
            int have_labels = idx_labels_beside(spec, labels, sizeof labels);
            if (have_labels) tmlp_cli_inputs_add("--data (the labels file beside it)", labels);
            st = tmlp_dataset_load_idx(spec, have_labels ? labels : NULL, NULL, &w->data, &err);
            w->info.data_kind = "idx";
            if (have_labels) {
                snprintf(w->data_labels, sizeof w->data_labels, "%s", labels);
                w->info.data_labels = w->data_labels;
            } else if (!o->quiet) {
                tmlp_cli_error("note: no labels file beside %s; accuracy will be null", spec);
            }
        }
        w->info.fashion_names = contains_ci(spec, "fashion");
    }
    if (st != TMLP_OK) {
        tmlp_cli_error("--data %s: %s", spec, err.message[0] ? err.message : tmlp_status_str(st));
        return TMLP_EXIT_RUNTIME;
    }
    w->info.data_source = w->data_source;
    w->info.data_count = w->data->count;
    w->info.data_width = w->data->width;
    w->info.data_dtype = w->data->dtype == TMLP_DTYPE_U8 ? "u8" : "f32";
    w->info.data_labeled = w->data->labels != NULL;
    w->info.data_classes = w->data->labels ? w->data->n_classes : 0;
    if (w->info.data_classes != 10) w->info.fashion_names = 0;
    if (!w->is_null && w->data->width != w->info.model_input_width) {
        tmlp_cli_error("--data %s: samples have %" PRId64 " values but the model takes %" PRId64
                       " inputs", spec, w->data->width, w->info.model_input_width);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

static int64_t max_batch_of(const tmlp_run_opts *o)
{
    int64_t m = 1;
    if (o->scenarios & (1u << TMLP_SCENARIO_MULTI_STREAM) && o->samples_per_query > m)
        m = o->samples_per_query;
    if (o->scenarios & (1u << TMLP_SCENARIO_OFFLINE))
        for (int i = 0; i < o->n_batches; i++)
            if (o->batches[i] > m) m = o->batches[i];
    return m;
}

static int build_workload(const tmlp_run_opts *o, tmlp_workload *w)
{
    int rc;
    if ((rc = load_model(o, w))) return rc;
    if ((rc = load_data(o, w))) return rc;
    if (o->mode == TMLP_MODE_ACCURACY && w->is_null)
        return tmlp_cli_usage_error("--mode accuracy: the null model makes no predictions; "
                                    "give a real model");
    if (o->mode == TMLP_MODE_ACCURACY && !w->data->labels) {
        tmlp_cli_error("--mode accuracy: the data set %s has no labels (use --data fashion or a "
                       ".safetensors with y)", w->data_source);
        return TMLP_EXIT_RUNTIME;
    }
    if (tmlp_blas_set_threads((int)o->blas_threads, NULL) != TMLP_OK) {
        tmlp_cli_error("--blas-threads: cannot set %" PRId64 " OpenBLAS threads", o->blas_threads);
        return TMLP_EXIT_RUNTIME;
    }
    if (w->is_null) {
        w->sut = tmlp_null_sut(w->data->count);
    } else {
        tmlp_error err = {0};
        tmlp_status st = tmlp_model_sut_create(w->model, w->data, (int)o->workers, max_batch_of(o),
                                               &w->msut, &err);
        if (st != TMLP_OK) {
            tmlp_cli_error("cannot start the model: %s",
                           err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        w->sut = *tmlp_model_sut_callbacks(w->msut);
        if (o->threads != 1 && (st = tmlp_model_sut_set_threads(w->msut, (int)o->threads, &err)) != TMLP_OK) {
            tmlp_cli_error("--threads: %s", err.message[0] ? err.message : tmlp_status_str(st));
            return TMLP_EXIT_RUNTIME;
        }
        tmlp_model_sut_set_dispatch(w->msut, o->dispatch, NULL); /* parsed: cannot fail */
    }
    w->info.dispatch = w->is_null ? NULL : tmlp_sut_dispatch_name(o->dispatch);
    w->info.repeat_mode = o->repeat_exec && o->repeat > 1 ? "exec" : "process";
    w->info.workers = (int)o->workers;
    w->info.threads = w->msut ? tmlp_model_sut_threads(w->msut) : 1;
    w->info.blas_threads = tmlp_blas_get_threads(); /* 1 under --threads > 1 */
    return 0;
}

static void destroy_workload(tmlp_workload *w)
{
    tmlp_model_sut_destroy(w->msut);
    tmlp_dataset_destroy(w->data);
    tmlp_model_destroy(w->model);
}

/* --- settings and progress ------------------------------------------------------------------ */

typedef struct progress_state {
    int shown;
    const char *label;
} progress_state;

static void on_progress(void *user, const tmlp_bench_progress *p)
{
    progress_state *ps = user;
    char p90[32];
    if (p->elapsed_ns < 1000000000u) return;
    fprintf(stderr, "\r\033[K[%s] %.1f/%.1f s  queries %" PRId64 " issued, %" PRId64
                    " done  running p90 %s", ps->label, (double)p->elapsed_ns / 1e9,
            (double)p->min_duration_ns / 1e9, p->queries_issued, p->queries_completed,
            tmlp_cli_fmt_ns(p->running_p90_ns, p90, sizeof p90));
    fflush(stderr);
    ps->shown = 1;
}

tmlp_bench_settings tmlp_run_settings(const tmlp_run_opts *o, tmlp_scenario sc, int64_t batch)
{
    tmlp_bench_settings s = tmlp_bench_settings_default(sc);
    static const int64_t min_q[4] = {1024, 662, 1024, 1};
    static const int64_t quick_min_q[4] = {64, 662, 662, 1};
    s.mode = o->mode;
    s.min_duration_ms = (uint64_t)(o->min_duration_ms >= 0 ? o->min_duration_ms
                                                           : (o->quick ? 100 : 2000));
    s.max_duration_ms = (uint64_t)(o->max_duration_ms >= 0 ? o->max_duration_ms
                                                           : (o->quick ? 2000 : 0));
    s.min_query_count = o->min_queries > 0 ? o->min_queries : (o->quick ? quick_min_q[sc] : min_q[sc]);
    s.max_query_count = o->max_queries > 0 ? o->max_queries : 0;
    s.warmup_queries = o->warmup >= 0 ? o->warmup : (o->quick ? 8 : 32);
    s.target_qps = o->target_qps;
    s.target_latency_ns = o->latency_bound_ns;
    if (o->percentile > 0) s.target_latency_percentile = o->percentile;
    s.samples_per_query = o->samples_per_query;
    s.offline_batch_size = batch;
    s.workers = (int)o->workers;
    s.blas_threads = (int)o->blas_threads;
    if (o->sample_seed_set) s.sample_seed = o->sample_seed;
    if (o->schedule_seed_set) s.schedule_seed = o->schedule_seed;
    s.percentile_method = o->method;
    if (o->mode == TMLP_MODE_FIND_PEAK) {
        /* A failing QPS halves, and a low QPS needs long to reach the minimum query count:
         * 662 queries (the fewest early stopping accepts at p99) and each trial ends by
         * max(3 x min duration, the time 662 queries take at target_qps / 16); at most 12
         * trials. */
        if (o->min_queries <= 0) s.min_query_count = 662;
        if (o->max_duration_ms < 0) {
            double slow_ms = 1e3 * (double)s.min_query_count * 16.0 / s.target_qps;
            double cap = 3.0 * (double)s.min_duration_ms;
            if (slow_ms > cap) cap = slow_ms;
            s.max_duration_ms = cap > 3.6e6 ? 3600000u : (uint64_t)ceil(cap);
        }
        s.find_peak_max_runs = 12;
        /* The floor matches the duration cap above: a trial below target/16 cannot gather
         * its queries before max_duration_ms, so halving further only wastes time. */
        s.find_peak_min_qps = o->find_peak_min_qps > 0 ? o->find_peak_min_qps : s.target_qps / 16.0;
        s.find_peak_budget_ms = (uint64_t)(o->find_peak_budget_ms >= 0 ? o->find_peak_budget_ms : 60000);
    }
    if (sc == TMLP_SCENARIO_OFFLINE) {
        s.offline_sample_count = o->offline_samples;
        s.offline_expected_qps = o->offline_samples > 0 ? 0.0
                                 : o->offline_expected_qps > 0 ? o->offline_expected_qps
                                                                : tmlp_run_expected_qps(o, batch, NULL, 0);
    }
    s.stop = (const volatile int *)&g_stop;
    s.keep_records = o->keep_records; /* else the run keeps ~17 bytes per query (docs/reliability.md) */
    return s;
}

/* The default offline expected QPS at this batch: the fixed rule of sizing.c (the ISA
 * class of the kernels and the batch), times the MPI ranks that share the query (an
 * explicit --offline-expected-qps is the total). It does not depend on --workers: the
 * workload (and its digest) stays the same when only the system changes, so runs with 1
 * and 2 workers compare. */
double tmlp_run_expected_qps(const tmlp_run_opts *o, int64_t batch, char *why, size_t cap)
{
    int ranks = o->sizing_ranks > 0 ? o->sizing_ranks : 1;
    return tmlp_offline_expected_qps(o->sizing_model, batch, why, cap) * (double)ranks;
}

/* MemAvailable of /proc/meminfo in bytes; 0 when unknown (not Linux, an old kernel). */
static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return kb > UINT64_MAX / 1024 ? UINT64_MAX : (uint64_t)kb * 1024;
}

static const char *fmt_bytes(uint64_t b, char *buf, size_t n)
{
    double v = (double)b;
    if (v >= 1099511627776.0) snprintf(buf, n, "%.1f TiB", v / 1099511627776.0);
    else if (v >= 1073741824.0) snprintf(buf, n, "%.1f GiB", v / 1073741824.0);
    else snprintf(buf, n, "%.1f MiB", v / 1048576.0);
    return buf;
}

/* Before any run: what the runs of this invocation will keep (tmlp_bench_estimate_memory
 * per row; every row's result stays until the output is written, the largest run's working
 * records come on top, and raw latencies in a JSON document cost ~100 bytes per query
 * while it is built) against MemAvailable. Refused (exit 1) when even the fewest queries
 * the settings allow do not fit; a warning when the estimate at an assumed closed-loop
 * rate (the null SUT: TMLP_BENCH_ESTIMATE_QPS; a model: the offline expected QPS, above
 * what a closed loop of one query at a time reaches) does not. Per process: MPI ranks
 * check their own share. */
static int memory_check(const tmlp_run_opts *o, const tmlp_workload *w, tmlp_mpi *mpi)
{
    uint64_t avail = mem_available();
    if (avail == 0) return 0;
    double rate = w->is_null || !w->model ? 0.0 : o->default_expected_qps;
    double kept = 0, kept_min = 0, work = 0, work_min = 0;
    const char *worst = NULL;
    tmlp_bench_memory_estimate big = {0};
    for (int sc = 0; sc < 4; sc++) {
        if (!(o->scenarios & (1u << sc))) continue;
        int n_runs = sc == TMLP_SCENARIO_OFFLINE ? o->n_batches : 1;
        for (int b = 0; b < n_runs; b++) {
            tmlp_bench_settings s = tmlp_run_settings(o, (tmlp_scenario)sc, o->batches[b]);
            tmlp_mpi_settings(mpi, &s, w->sut.sample_count);
            tmlp_bench_memory_estimate e;
            if (tmlp_bench_estimate_memory(&s, w->sut.sample_count, rate, &e, NULL) != TMLP_OK) continue;
            double json = o->format == TMLP_OUT_JSON && o->raw_latencies
                          ? 100.0 * (sc == TMLP_SCENARIO_SERVER && o->keep_records ? 2 : 1) : 0.0;
            kept += (double)e.result_bytes + json * (double)e.queries;
            kept_min += (double)e.result_bytes * ((double)e.queries_min / (double)(e.queries > 0 ? e.queries : 1)) +
                        json * (double)e.queries_min;
            if ((double)e.peak_bytes > work) work = (double)e.peak_bytes;
            if ((double)e.peak_bytes_min > work_min) {
                work_min = (double)e.peak_bytes_min;
                worst = tmlp_scenario_name((tmlp_scenario)sc);
                big = e;
            }
        }
    }
    double need_min = kept_min + work_min, need = kept + work;
    char b1[32], b2[32];
    if (need_min > (double)avail) {
        tmlp_cli_error("the runs need at least %s of memory (%s: %" PRId64 " %s x %.0f bytes), more than "
                       "MemAvailable %s: shorten --min-duration-ms, lower --min-queries or --target-qps%s",
                       fmt_bytes(need_min >= 1.8e19 ? UINT64_MAX : (uint64_t)need_min, b1, sizeof b1), worst,
                       big.queries_min, strcmp(worst, "offline") ? "queries" : "runs of samples",
                       big.bytes_per_query, fmt_bytes(avail, b2, sizeof b2),
                       o->format == TMLP_OUT_JSON && o->raw_latencies ? ", or drop --raw-latencies" : "");
        return TMLP_EXIT_RUNTIME;
    }
    if (need > (double)avail)
        tmlp_cli_error("warning: the runs may need up to %s of memory (closed loops at %.0f queries/s), more than "
                       "MemAvailable %s; --max-queries or --max-duration-ms bound them",
                       fmt_bytes(need >= 1.8e19 ? UINT64_MAX : (uint64_t)need, b1, sizeof b1),
                       rate > 0 ? rate : TMLP_BENCH_ESTIMATE_QPS, fmt_bytes(avail, b2, sizeof b2));
    return 0;
}

/* Under MPI the offline runs (and accuracy) see only this rank's contiguous shard of the
 * samples: every sample is scored exactly once across the ranks. NULL with one rank. */
static int shard_for_rank(const tmlp_mpi *mpi, const tmlp_run_opts *o, const tmlp_workload *w, tmlp_sut_shard **out)
{
    int64_t first, count;
    *out = NULL;
    if (tmlp_mpi_size(mpi) < 2 || !(o->scenarios & (1u << TMLP_SCENARIO_OFFLINE))) return 0;
    tmlp_bench_shard(w->sut.sample_count, tmlp_mpi_rank(mpi), tmlp_mpi_size(mpi), &first, &count);
    tmlp_error err = {0};
    if (count < 1 || tmlp_sut_shard_create(&w->sut, first, count, max_batch_of(o), out, &err) != TMLP_OK) {
        tmlp_cli_error("cannot take this rank's shard of %" PRId64 " samples over %d ranks: %s",
                       w->sut.sample_count, tmlp_mpi_size(mpi), count < 1 ? "fewer samples than ranks" : err.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* --mode accuracy at a reduced precision: the same model at F32 on the same samples, and
 * the paired comparison (bench/precision.c) into pr; *have = 1 when it was made. Nothing
 * for an F32 model. The text block and the JSON's "paired_vs_f32" both come from pr. */
static int paired_vs_f32(const tmlp_run_opts *o, const tmlp_workload *w, tmlp_paired_acc *pr, int *have)
{
    tmlp_kernel_info ki;
    *have = 0;
    if (w->is_null || tmlp_model_kernel_info(w->model, &ki, NULL) != TMLP_OK || ki.precision == TMLP_PRECISION_F32)
        return 0;
    tmlp_model *ref = NULL;
    int rc = tmlp_precision_load(w->model_source, o->layers, SYNTHETIC_MODEL_SEED, TMLP_PRECISION_F32, &ref);
    if (!rc) rc = tmlp_paired_run(ref, w->model, w->data, o->alpha, pr);
    *have = !rc;
    tmlp_model_destroy(ref);
    return rc;
}

/* Repetition k of one row in this process: *out gets the result. 0 or an exit code. */
static int run_row_once(const tmlp_run_opts *o, tmlp_workload *w, tmlp_sut_shard *shard, const tmlp_run_row *row,
                        const tmlp_bench_settings *settings, int64_t k, int show_progress, tmlp_bench_result **out)
{
    tmlp_bench_settings s = *settings;
    char plabel[64];
    snprintf(plabel, sizeof plabel, o->repeat > 1 ? "%s %" PRId64 "/%" PRId64 : "%s", row->label, k + 1, o->repeat);
    progress_state ps = {0, plabel};
    if (show_progress) {
        s.progress = on_progress;
        s.progress_user = &ps;
    }
    tmlp_error err = {0};
    /* under MPI, offline runs on this rank's shard of the samples */
    const tmlp_sut *sut = s.scenario == TMLP_SCENARIO_OFFLINE && shard ? tmlp_sut_shard_callbacks(shard) : &w->sut;
    tmlp_status st = tmlp_bench_run_scenario(&s, sut, out, &err);
    if (ps.shown) fputs("\r\033[K", stderr);
    if (st != TMLP_OK) {
        tmlp_cli_error("%s: %s", row->label, err.message[0] ? err.message : tmlp_status_str(st));
        return st == TMLP_ERR_ARG ? TMLP_EXIT_USAGE : TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* --- the phases ------------------------------------------------------------------------------ */

int tmlp_workload_start(tmlp_run_opts *o, tmlp_workload *w)
{
    int rc;
    w->info.argc = o->argc;
    w->info.argv = o->argv;
    w->info.sample_seed = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM).sample_seed;
    w->info.schedule_seed = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER).schedule_seed;
    if (o->sample_seed_set) w->info.sample_seed = o->sample_seed;
    if (o->schedule_seed_set) w->info.schedule_seed = o->schedule_seed;
    if ((rc = tmlp_mpi_start(&w->mpi, &g_stop))) return rc;
    /* repetitions in fresh processes by default (bench/aa_rate.sh, docs/statistics.md), but
     * not under mpirun, where every rank would start its own */
    if (o->repeat_exec < 0) o->repeat_exec = tmlp_mpi_size(w->mpi) <= 1;
    if (tmlp_mpi_rank(w->mpi) > 0) { /* rank 0 alone writes results, traces and verdicts */
        o->output = "/dev/null";
        o->trace = o->baseline = o->summary = o->history = NULL;
        o->quiet = 1;
        o->monitor_interval_ms = 0;
    }
    /* a trace draws every query and sample; MPI merges the ranks' records by start time */
    o->keep_records = o->trace != NULL || tmlp_mpi_size(w->mpi) > 1 || o->results_records;
    return 0;
}

int tmlp_workload_build(tmlp_run_opts *o, tmlp_workload *w)
{
    int rc;
    if ((rc = build_workload(o, w))) return rc;
    /* the offline sizing rule reads the model (its FLOPs, kernels, precision); N ranks offer
     * N times one process's assumed rate (an explicit rate is the total) */
    o->sizing_model = w->is_null ? NULL : w->model;
    o->sizing_ranks = tmlp_mpi_size(w->mpi);
    o->default_expected_qps = tmlp_run_expected_qps(o, 1, NULL, 0);
    for (int b = 0; b < o->n_batches; b++) {
        double q = tmlp_run_expected_qps(o, o->batches[b], NULL, 0);
        if (q > o->default_expected_qps) o->default_expected_qps = q;
    }
    if ((rc = shard_for_rank(w->mpi, o, w, &w->shard))) return rc;
    int ranks = tmlp_mpi_size(w->mpi);
    if (ranks > 1) {
        w->hosts = calloc((size_t)ranks, sizeof *w->hosts);
        if (!w->hosts) {
            tmlp_cli_error("out of memory");
            return TMLP_EXIT_RUNTIME;
        }
        for (int r = 0; r < ranks; r++) w->hosts[r] = tmlp_mpi_host(w->mpi, r);
        w->info.mpi_ranks = ranks;
        w->info.mpi_hosts = w->hosts;
    }
    return 0;
}

int tmlp_workload_ready(const tmlp_run_opts *o, tmlp_workload *w)
{
    int rc;
    if (o->repeat_exec && o->repeat > 1 && tmlp_mpi_size(w->mpi) > 1)
        return tmlp_cli_usage_error("--repeat-mode exec: not under mpirun (each rank would start its own "
                                    "processes); use --repeat-mode process");
    if ((rc = memory_check(o, w, w->mpi))) return rc;
    /* Under MPI: a rank that failed above makes every rank stop here, not hang later. */
    w->agreed = 1;
    return tmlp_mpi_agree(w->mpi, 0);
}

/* The rows: one per scenario, offline one per batch size, in this order; rs[i] gets row
 * i's harness settings. 0 or TMLP_EXIT_RUNTIME. */
static int plan_rows(const tmlp_run_opts *o, tmlp_workload *w, tmlp_bench_settings *rs)
{
    int ranks = tmlp_mpi_size(w->mpi);
    for (int sc = 0; sc < 4; sc++) {
        if (!(o->scenarios & (1u << sc))) continue;
        int n_runs = sc == TMLP_SCENARIO_OFFLINE ? o->n_batches : 1;
        for (int b = 0; b < n_runs && w->n_rows < MAX_ROWS; b++) {
            tmlp_run_row *row = &w->rows[w->n_rows];
            memset(row, 0, sizeof *row);
            row->no_raw_latencies = !o->raw_latencies;
            rs[w->n_rows] = tmlp_run_settings(o, (tmlp_scenario)sc, o->batches[b]);
            tmlp_mpi_settings(w->mpi, &rs[w->n_rows], w->sut.sample_count);
            if (sc == TMLP_SCENARIO_OFFLINE && o->n_batches > 1)
                snprintf(row->label, sizeof row->label, "offline b=%" PRId64, o->batches[b]);
            else
                snprintf(row->label, sizeof row->label, "%s", tmlp_scenario_name((tmlp_scenario)sc));
            if (o->mode == TMLP_MODE_FIND_PEAK) snprintf(row->label, sizeof row->label, "server find-peak");
            if (sc <= TMLP_SCENARIO_MULTI_STREAM && ranks > 1) /* one closed loop per rank */
                snprintf(row->label, sizeof row->label, "%s (%d streams)", tmlp_scenario_name((tmlp_scenario)sc),
                         ranks);
            w->n_rows++;
            if (o->repeat > 1 && !(row->reps = calloc((size_t)o->repeat, sizeof *row->reps))) {
                tmlp_cli_error("out of memory");
                return TMLP_EXIT_RUNTIME;
            }
        }
    }
    return 0;
}

/* The resource monitor covers every run. One that cannot start costs the resource
 * figures, not the benchmark. */
static void monitor_start(const tmlp_run_opts *o, tmlp_workload *w)
{
    if (o->monitor_interval_ms <= 0) return;
    tmlp_error merr = {0};
    w->res.interval_ms = (uint32_t)o->monitor_interval_ms;
    w->res.start_ns = tmlp_time_now_ns();
    if (tmlp_monitor_create(w->res.interval_ms, &w->mon, &merr) != TMLP_OK ||
        tmlp_monitor_start(w->mon, &merr) != TMLP_OK) {
        if (!o->quiet)
            tmlp_cli_error("note: the resource monitor did not start (%s); resource figures are absent",
                           merr.message[0] ? merr.message : "unknown error");
        tmlp_monitor_destroy(w->mon);
        w->mon = NULL;
    }
}

/* Repetition k of every row: in a fresh process (exec mode: fresh[] filled) or here. */
static int run_repetition(const tmlp_run_opts *o, tmlp_workload *w, const tmlp_bench_settings *rs, int64_t k,
                          char **child_argv, int fd_slot, FILE *out, FILE *summary)
{
    tmlp_bench_result *fresh[MAX_ROWS] = {NULL};
    int child_pid = 0, rc = 0;
    int show_progress = !o->quiet && isatty(STDERR_FILENO);
    if (w->exec_mode) {
        if (show_progress) {
            fprintf(stderr, "\r\033[K[repetition %" PRId64 "/%" PRId64 " in a fresh process]", k + 1, o->repeat);
            fflush(stderr);
        }
        rc = tmlp_fresh_run(child_argv, fd_slot, w->n_rows, fresh, &child_pid);
        if (show_progress) fputs("\r\033[K", stderr);
        if (rc) return g_stop ? -1 : rc; /* interrupted: what ran so far is printed */
    }
    for (int i = 0; i < w->n_rows && !g_stop; i++) {
        tmlp_run_row *row = &w->rows[i];
        tmlp_bench_result *r = fresh[i];
        if (!w->exec_mode && (rc = run_row_once(o, w, w->shard, row, &rs[i], k, show_progress, &r))) return rc;
        if (row->reps) {
            tmlp_rep_from_result(r, &row->reps[row->n_reps]);
            if (w->exec_mode) row->reps[row->n_reps].pid = child_pid;
            row->n_reps++;
        }
        if (!row->result) row->result = r;
        else tmlp_bench_result_destroy(r);
        if (k == o->repeat - 1) { /* the row's last repetition: its summary */
            tmlp_rep_aggregate(row);
            if (summary) tmlp_out_summary(summary, row, &w->info);
            if (out && o->verbose && o->format == TMLP_OUT_TABLE && summary != out) tmlp_out_summary(out, row, &w->info);
            if (out) fflush(out);
        }
    }
    return 0;
}

/* Repetitions round-robin: repetition k of every row, then k + 1. Each is a full run with
 * its own validity. Round-robin rather than a row's N runs back to back, so the
 * repetitions of one row are spread over the whole invocation and their spread includes
 * the machine's slow drift (clock, neighbours) that a later comparison will meet too.
 * With --repeat-mode exec each repetition k is a fresh process that runs every row once
 * (fresh.c). Repetition 1 keeps its raw arrays in row->result, the others only their
 * figures. A row's summary is printed after its last repetition. */
static int run_repetitions(const tmlp_run_opts *o, tmlp_workload *w, const tmlp_bench_settings *rs, FILE *out,
                           FILE *summary)
{
    char **child_argv = NULL;
    int fd_slot = 0, rc = 0;
    w->exec_mode = o->repeat_exec && o->repeat > 1;
    if (w->exec_mode && (rc = tmlp_run_opts_child_argv(o, &child_argv, &fd_slot))) return rc;
    for (int64_t k = 0; k < o->repeat && !g_stop && !rc; k++)
        rc = run_repetition(o, w, rs, k, child_argv, fd_slot, out, summary);
    free(child_argv);
    return rc < 0 ? 0 : rc;
}

/* Interrupted: aggregate what ran; rows that never ran are dropped. */
static void keep_rows_that_ran(const tmlp_run_opts *o, tmlp_workload *w)
{
    int kept = 0;
    for (int i = 0; i < w->n_rows; i++) {
        if (!w->rows[i].result) {
            tmlp_rep_free(&w->rows[i]);
            continue;
        }
        if (w->rows[i].n_reps < o->repeat) tmlp_rep_aggregate(&w->rows[i]);
        w->rows[kept++] = w->rows[i];
    }
    w->n_rows = kept;
}

/* A repetition's child: hand the results to the parent (fresh.c). */
static int emit_to_parent(const tmlp_run_opts *o, tmlp_workload *w)
{
    tmlp_bench_result *res_of[MAX_ROWS];
    for (int i = 0; i < w->n_rows; i++) res_of[i] = w->rows[i].result;
    if (g_stop) return 0;
    if (tmlp_fresh_emit(o->results_fd, res_of, w->n_rows)) {
        tmlp_cli_error("--results-fd: cannot write the results: %s", strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

int tmlp_workload_measure(const tmlp_run_opts *o, tmlp_workload *w, FILE *out, FILE *summary)
{
    tmlp_bench_settings rs[MAX_ROWS];
    int rc, have_paired = 0;
    if ((rc = plan_rows(o, w, rs))) return rc;
    monitor_start(o, w);
    if ((rc = run_repetitions(o, w, rs, out, summary))) return rc;
    if (o->results_fd >= 0) return emit_to_parent(o, w);
    if (g_stop) keep_rows_that_ran(o, w);
    if (w->mon && tmlp_monitor_stop(w->mon, NULL) == TMLP_OK &&
        tmlp_monitor_get_summary(w->mon, &w->res.summary, NULL) == TMLP_OK) {
        w->res.have = 1;
        w->res.monitor = w->mon;
    }
    if (o->mode == TMLP_MODE_ACCURACY && o->format != TMLP_OUT_CSV && !g_stop &&
        (rc = paired_vs_f32(o, w, &w->paired, &have_paired)))
        return rc;
    if (have_paired) {
        tmlp_kernel_info ki;
        w->info.paired = &w->paired;
        w->info.paired_name =
            tmlp_model_kernel_info(w->model, &ki, NULL) == TMLP_OK ? tmlp_precision_name(ki.precision) : "?";
        w->info.paired_alpha = o->alpha;
    }
    return 0;
}

cJSON *tmlp_workload_doc(const tmlp_workload *w)
{
    return tmlp_out_json_doc(&w->info, w->rows, w->n_rows, w->data ? w->data->labels : NULL, &w->res);
}

int tmlp_workload_end(tmlp_workload *w, int rc)
{
    if (!w->agreed) {
        w->agreed = 1;
        int any = tmlp_mpi_agree(w->mpi, rc); /* this rank failed before the meeting point */
        if (!rc) rc = any;
    }
    for (int i = 0; i < w->n_rows; i++) {
        tmlp_bench_result_destroy(w->rows[i].result);
        tmlp_rep_free(&w->rows[i]);
    }
    w->n_rows = 0;
    tmlp_monitor_destroy(w->mon);
    w->mon = NULL;
    tmlp_sut_shard_destroy(w->shard);
    w->shard = NULL;
    destroy_workload(w);
    free(w->hosts);
    w->hosts = NULL;
    tmlp_mpi_finish(w->mpi);
    w->mpi = NULL;
    return rc;
}

int tmlp_workload_results(const tmlp_run_opts *in, cJSON **doc)
{
    tmlp_run_opts o = *in;
    o.output = o.trace = o.summary = o.baseline = o.history = NULL;
    o.format = TMLP_OUT_JSON;
    *doc = NULL;
    tmlp_workload *w = calloc(1, sizeof *w);
    if (!w) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_cli_polls = 1;
    int rc = tmlp_workload_start(&o, w);
    if (!rc) rc = tmlp_workload_build(&o, w);
    if (!rc) rc = tmlp_workload_ready(&o, w);
    if (!rc) rc = tmlp_workload_measure(&o, w, NULL, NULL);
    if (!rc && g_stop) rc = TMLP_EXIT_INTERRUPTED;
    if (!rc && !(*doc = tmlp_workload_doc(w))) {
        tmlp_cli_error("out of memory building the results document");
        rc = TMLP_EXIT_RUNTIME;
    }
    rc = tmlp_workload_end(w, rc);
    if (rc) {
        cJSON_Delete(*doc);
        *doc = NULL;
    }
    free(w);
    return rc;
}
