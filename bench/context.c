/* context.c — the JSON "context" block: everything about the machine, the build and the
 * invocation that a reader needs to trust or reproduce a result (Google Benchmark's
 * context, extended with seeds, the workload and the command line).
 *
 * Measured, never assumed: the CPU name comes from /proc/cpuinfo, the OS from uname(2),
 * the timer resolution from clock_getres(2), the timer overhead is the MEDIAN of 2001
 * back-to-back tmlp_time_now_ns() differences, and the load average (/proc/loadavg) is
 * read when the document is written: a load above the core count means other work
 * shared the CPUs and the latencies are noisy. What cannot be
 * read is written as null, not guessed.
 */
#include "run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_config.h"
#include "bench_git.h"
#include "tinymlp/blas.h"
#include "tinymlp/kernels.h"
#include "tinymlp/model.h"

#define OVERHEAD_SAMPLES 2001

const char *tmlp_context_git(void) { return TMLP_GIT_DESCRIBE; }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t tmlp_context_timer_overhead_ns(void)
{
    uint64_t d[OVERHEAD_SAMPLES];
    for (int i = 0; i < OVERHEAD_SAMPLES; i++) {
        uint64_t a = tmlp_time_now_ns();
        uint64_t b = tmlp_time_now_ns();
        d[i] = b - a;
    }
    qsort(d, OVERHEAD_SAMPLES, sizeof d[0], cmp_u64);
    return d[OVERHEAD_SAMPLES / 2];
}

int tmlp_context_load_average(double out[3])
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return 0;
    int n = fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]);
    fclose(f);
    return n == 3;
}

int tmlp_context_cpu_name(char *buf, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    int found = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, cap, "%s", v);
        found = 1;
        break;
    }
    fclose(f);
    return found;
}

/* "model name : AMD EPYC ..." from /proc/cpuinfo, or null. */
static cJSON *cpu_name(void)
{
    char buf[256];
    if (tmlp_context_cpu_name(buf, sizeof buf)) return cJSON_CreateString(buf);
    return cJSON_CreateNull();
}

/* Seeds above 2^53 do not survive a JSON double: write them as strings. */
static cJSON *u64_json(uint64_t v)
{
    if (v <= (UINT64_C(1) << 53)) return cJSON_CreateNumber((double)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateString(buf);
}

static char *join_command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += 3 + 4 * strlen(argv[i]);
    char *s = malloc(len);
    if (!s) return NULL;
    char *p = s;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int quote = !*a || strpbrk(a, " \t\"'\\$`!*?&;|<>()") != NULL;
        if (i) *p++ = ' ';
        if (!quote) {
            size_t n = strlen(a);
            memcpy(p, a, n);
            p += n;
            continue;
        }
        /* single-quote for a POSIX shell: ' becomes '\'' */
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *a;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

static const char *compiler_string(char *buf, size_t cap)
{
#if defined(__clang__)
    snprintf(buf, cap, "clang %s", __VERSION__);
#elif defined(__GNUC__)
    snprintf(buf, cap, "gcc %s", __VERSION__);
#else
    snprintf(buf, cap, "%s", "unknown");
#endif
    return buf;
}

static const char *sanitizers(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return "address";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return "address";
#else
    return "none";
#endif
#else
    return "none";
#endif
}

/* The "blas" object: library, version, core, threads, who chose the core and its check. */
static void context_blas(cJSON *c)
{
    tmlp_blas_info bi;
    memset(&bi, 0, sizeof bi);
    tmlp_blas_get_info(&bi);
    cJSON *blas = cJSON_AddObjectToObject(c, "blas");
    if (blas) {
        cJSON_AddStringToObject(blas, "name", bi.name);
        cJSON_AddStringToObject(blas, "version", bi.version);
        cJSON_AddStringToObject(blas, "core", bi.core);
        cJSON_AddStringToObject(blas, "coretype_env", bi.coretype_env);
        cJSON_AddNumberToObject(blas, "threads", bi.threads);
        cJSON_AddNumberToObject(blas, "parallel", bi.parallel);
        cJSON_AddStringToObject(blas, "best_core", bi.best_core);
        cJSON_AddStringToObject(blas, "core_source", bi.core_source);
        double err = 0;
        const tmlp_status chk = tmlp_blas_check_core(&err, NULL);
        cJSON *check = cJSON_AddObjectToObject(blas, "core_check");
        if (check) {
            cJSON_AddBoolToObject(check, "ok", chk == TMLP_OK);
            cJSON_AddNumberToObject(check, "max_error", err);
            cJSON_AddStringToObject(check, "method", "sgemm 7x37x29 vs the scalar kernel, error / sum |terms|");
        }
        if (bi.advice[0]) cJSON_AddStringToObject(blas, "advice", bi.advice);
    }
}

static void context_kernels(cJSON *c, const tmlp_run_info *info)
{
    /* Dense kernels: what the model runs (tinymlp/kernels.h), or what a model would. */
    cJSON *kern = cJSON_AddObjectToObject(c, "kernels");
    if (kern) {
        tmlp_kernel_info ki;
        const char *env = getenv("TMLP_KERNELS");
        cJSON_AddStringToObject(kern, "env", env ? env : "");
        const char *penv = getenv("TMLP_PRECISION");
        cJSON_AddStringToObject(kern, "env_precision", penv ? penv : "");
        if (info && info->model && tmlp_model_kernel_info(info->model, &ki, NULL) == TMLP_OK) {
            cJSON_AddStringToObject(kern, "kernel", ki.name);
            cJSON_AddStringToObject(kern, "source", ki.source);
            cJSON_AddStringToObject(kern, "available", ki.available);
            /* INT64_MAX (forced: every batch) is written as -1 */
            cJSON_AddNumberToObject(kern, "crossover_min", ki.crossover_min == INT64_MAX ? -1.0 : (double)ki.crossover_min);
            cJSON_AddNumberToObject(kern, "crossover_max", ki.crossover_max == INT64_MAX ? -1.0 : (double)ki.crossover_max);
            cJSON_AddNumberToObject(kern, "packed_bytes", (double)ki.packed_bytes);
            cJSON_AddNumberToObject(kern, "weight_bytes", (double)tmlp_model_param_bytes(info->model));
            /* weight precision (docs/precision.md) and the instruction path running it */
            cJSON_AddStringToObject(kern, "precision", tmlp_precision_name(ki.precision));
            cJSON_AddStringToObject(kern, "precision_source", ki.precision_source);
            cJSON_AddStringToObject(kern, "isa", ki.isa);
        } else {
            char av[64] = "";
            for (int k = TMLP_KERNEL_SCALAR; k <= TMLP_KERNEL_NEON_BF16; k++)
                if (tmlp_kernel_available((tmlp_kernel)k))
                    snprintf(av + strlen(av), sizeof av - strlen(av), "%s%s", av[0] ? "," : "",
                             tmlp_kernel_name((tmlp_kernel)k));
            cJSON_AddStringToObject(kern, "available", av);
        }
    }
}

/* The "model" and "data" objects of the workload. */
static void context_workload(cJSON *c, const tmlp_run_info *info)
{
    char buf[64];
    cJSON *m = cJSON_AddObjectToObject(c, "model");
    if (m) {
        cJSON_AddStringToObject(m, "kind", info->model_kind);
        cJSON_AddStringToObject(m, "source", info->model_source);
        cJSON_AddStringToObject(m, "layers", info->model_layers);
        cJSON_AddNumberToObject(m, "input_width", (double)info->model_input_width);
        cJSON_AddNumberToObject(m, "output_width", (double)info->model_output_width);
        cJSON_AddNumberToObject(m, "params", (double)info->model_params);
        if (info->model_has_file_hash) {
            snprintf(buf, sizeof buf, "%016" PRIx64, info->model_file_hash);
            cJSON_AddStringToObject(m, "file_fnv1a64", buf);
        } else {
            cJSON_AddNullToObject(m, "file_fnv1a64");
        }
    }
    cJSON *d = cJSON_AddObjectToObject(c, "data");
    if (d) {
        cJSON_AddStringToObject(d, "kind", info->data_kind);
        cJSON_AddStringToObject(d, "source", info->data_source);
        if (info->data_labels) cJSON_AddStringToObject(d, "labels", info->data_labels);
        else cJSON_AddNullToObject(d, "labels");
        cJSON_AddNumberToObject(d, "count", (double)info->data_count);
        cJSON_AddNumberToObject(d, "width", (double)info->data_width);
        cJSON_AddStringToObject(d, "dtype", info->data_dtype);
        cJSON_AddBoolToObject(d, "labeled", info->data_labeled);
        cJSON_AddNumberToObject(d, "classes", info->data_classes);
    }
}

cJSON *tmlp_context_json(const tmlp_run_info *info)
{
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    char buf[512];

    if (gethostname(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        cJSON_AddStringToObject(c, "host", buf);
    } else {
        cJSON_AddNullToObject(c, "host");
    }
    tmlp_json_add(c, "cpu", cpu_name());
    cJSON_AddNumberToObject(c, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(c, "os", buf);
    } else {
        cJSON_AddNullToObject(c, "os");
    }
    double load[3];
    if (tmlp_context_load_average(load)) {
        cJSON *la = cJSON_AddArrayToObject(c, "load_average");
        for (int i = 0; la && i < 3; i++) tmlp_json_append(la, cJSON_CreateNumber(load[i]));
    } else {
        cJSON_AddNullToObject(c, "load_average");
    }
    /* The CPU frequency governor, where the kernel exposes it (not in most VMs): anything
     * but "performance" lets the clock move between runs; regress warns about it. */
    FILE *gov = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
    if (gov && fgets(buf, sizeof buf, gov)) {
        buf[strcspn(buf, "\n")] = '\0';
        cJSON_AddStringToObject(c, "cpu_governor", buf);
    } else {
        cJSON_AddNullToObject(c, "cpu_governor");
    }
    if (gov) fclose(gov);
    cJSON_AddStringToObject(c, "compiler", compiler_string(buf, sizeof buf));
    cJSON_AddStringToObject(c, "build_type", TMLP_BUILD_TYPE);
    cJSON_AddStringToObject(c, "sanitizers", sanitizers());

    cJSON *ver = cJSON_AddObjectToObject(c, "version");
    if (ver) {
        cJSON_AddStringToObject(ver, "library", tmlp_version());
        cJSON_AddStringToObject(ver, "git", TMLP_GIT_DESCRIBE);
    }

    context_blas(c);
    context_kernels(c, info);

    cJSON *timer = cJSON_AddObjectToObject(c, "timer");
    if (timer) {
        struct timespec res;
        cJSON_AddStringToObject(timer, "clock", "CLOCK_MONOTONIC");
        if (clock_getres(CLOCK_MONOTONIC, &res) == 0)
            cJSON_AddNumberToObject(timer, "resolution_ns",
                                    (double)res.tv_sec * 1e9 + (double)res.tv_nsec);
        else
            cJSON_AddNullToObject(timer, "resolution_ns");
        cJSON_AddNumberToObject(timer, "overhead_ns", (double)tmlp_context_timer_overhead_ns());
        cJSON_AddStringToObject(timer, "overhead_method",
                                "median of 2001 back-to-back tmlp_time_now_ns differences");
    }

    if (!info) return c;

    cJSON *seeds = cJSON_AddObjectToObject(c, "seeds");
    if (seeds) {
        tmlp_json_add(seeds, "sample", u64_json(info->sample_seed));
        tmlp_json_add(seeds, "schedule", u64_json(info->schedule_seed));
        if (!strcmp(info->model_kind, "synthetic"))
            tmlp_json_add(seeds, "model", u64_json(info->model_seed));
        else
            cJSON_AddNullToObject(seeds, "model");
        if (!strcmp(info->data_kind, "synthetic"))
            tmlp_json_add(seeds, "data", u64_json(info->data_seed));
        else
            cJSON_AddNullToObject(seeds, "data");
    }
    char *cl = join_command_line(info->argc, info->argv);
    if (!cl) tmlp_json_fail(); /* no document rather than one without its command line */
    if (cl) {
        cJSON_AddStringToObject(c, "command_line", cl);
        free(cl);
    }
    cJSON_AddNumberToObject(c, "workers", info->workers);
    if (info->dispatch) cJSON_AddStringToObject(c, "dispatch", info->dispatch);
    if (info->repeat_mode) cJSON_AddStringToObject(c, "repeat_mode", info->repeat_mode);
    if (info->mpi_ranks > 1) { /* under mpirun: how many ranks and where (mpi.c) */
        cJSON *mpi = cJSON_AddObjectToObject(c, "mpi");
        cJSON *hosts = mpi ? cJSON_AddArrayToObject(mpi, "hosts") : NULL;
        if (mpi) cJSON_AddNumberToObject(mpi, "ranks", info->mpi_ranks);
        for (int i = 0; hosts && i < info->mpi_ranks; i++)
            tmlp_json_append(hosts, cJSON_CreateString(info->mpi_hosts[i]));
    }
    cJSON_AddNumberToObject(c, "blas_threads", info->blas_threads);
    cJSON_AddNumberToObject(c, "threads", info->threads > 0 ? info->threads : 1); /* intra-op, per session */

    context_workload(c, info);
    return c;
}
