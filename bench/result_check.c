/* result_check.c — the checks a bench_mlp results document passes before any reader uses it
 * (see result_check.h for the contract and docs/bench_mlp.md, "Results format", for the rule).
 *
 * What is checked is what the readers rely on, field by field:
 *   /                         an object; "schema_version" absent (0, legacy) or an integer
 *                             1..TMLP_RESULT_SCHEMA_VERSION
 *   /runs                     a non-empty array of run objects
 *   /runs/i/scenario          one of single-stream, multi-stream, server, offline
 *   /runs/i/label, mode, workload_digest      strings
 *   /runs/i/valid             a boolean;  settings: an object
 *   /runs/i/queries, duration_ns              finite numbers >= 0
 *   throughputs (throughput_samples_per_s and the server's rates)   null or finite >= 0
 *   latency summaries (latency_ns, issue_delay_ns; each repetition's latency_ns)
 *                             objects whose figures are null or finite >= 0
 *   /runs/i/repetitions       an array of objects (each with valid, latency_ns, throughput)
 *   /runs/i/latencies_ns      an array of integers in [-1, 2^53]; -1 = never completed
 *   /runs/i/issue_delays_ns   an array of integers of magnitude <= 2^53
 *   /runs/i/accuracy          null or {correct, total: integers, 0 <= correct <= total}
 *   context, resources, aggregate, find_peak: objects when present
 * Keys not named here are not read by any reader and are left alone, so a document may
 * carry more than this (the JSON Schema describes all of what bench_mlp writes).
 * Invariant: the first failure wins and is the only message; the walk never writes.
 */
#include "result_check.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXACT 9007199254740992.0 /* 2^53: every integer up to it is exact in a double */

typedef struct checker {
    const char *file;
    char *msg;
    size_t cap;
    char ptr[256]; /* JSON pointer of the value being checked */
} checker;

static int refuse(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(checker *c, const char *fmt, ...)
{
    char why[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->cap, "%s: %s: %s", c->file ? c->file : "results", c->ptr[0] ? c->ptr : "/", why);
    return -1;
}

/* Push "/key" (or "/index") on the pointer, RFC 6901-escaped ('~' -> "~0", '/' -> "~1");
 * returns the old length for pop(). A pointer longer than the buffer is cut, never overrun. */
static size_t push_key(checker *c, const char *key)
{
    size_t n = strlen(c->ptr), k = n;
    if (k + 1 < sizeof c->ptr) c->ptr[k++] = '/';
    for (; *key && k + 2 < sizeof c->ptr; key++) {
        if (*key == '~' || *key == '/') {
            c->ptr[k++] = '~';
            c->ptr[k++] = *key == '~' ? '0' : '1';
        } else {
            c->ptr[k++] = *key;
        }
    }
    c->ptr[k] = '\0';
    return n;
}

static size_t push_index(checker *c, int i)
{
    size_t n = strlen(c->ptr);
    snprintf(c->ptr + n, sizeof c->ptr - n, "/%d", i);
    return n;
}

static void pop(checker *c, size_t n) { c->ptr[n] = '\0'; }

static const char *type_name(const cJSON *x)
{
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsBool(x)) return "a boolean";
    if (cJSON_IsNumber(x)) return "a number";
    if (cJSON_IsString(x)) return "a string";
    if (cJSON_IsArray(x)) return "an array";
    if (cJSON_IsObject(x)) return "an object";
    return "not a JSON value";
}

/* kinds of a member */
enum { K_STRING, K_BOOL, K_OBJECT, K_ARRAY, K_COUNT, K_RATE };

/* Check member `key` of o. K_COUNT: a finite number >= 0; K_RATE: null or finite >= 0.
 * Absent: refused when required, else accepted. */
static int member(checker *c, const cJSON *o, const char *key, int kind, int required)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    size_t n = push_key(c, key);
    int rc = 0;
    static const char *const want[] = {"a string", "a boolean", "an object", "an array",
                                       "a finite number >= 0", "null or a finite number >= 0"};
    if (!x) {
        if (required) rc = refuse(c, "missing (must be %s)", want[kind]);
    } else if (kind == K_RATE && cJSON_IsNull(x)) {
        rc = 0;
    } else if (kind == K_COUNT || kind == K_RATE) {
        if (!cJSON_IsNumber(x)) rc = refuse(c, "is %s, must be %s", type_name(x), want[kind]);
        else if (!isfinite(x->valuedouble) || x->valuedouble < 0)
            rc = refuse(c, "%g is not %s", x->valuedouble, want[kind]);
    } else {
        int ok = kind == K_STRING ? cJSON_IsString(x) : kind == K_BOOL ? cJSON_IsBool(x)
                 : kind == K_OBJECT ? cJSON_IsObject(x) : cJSON_IsArray(x);
        if (!ok) rc = refuse(c, "is %s, must be %s", type_name(x), want[kind]);
    }
    pop(c, n);
    return rc;
}

/* A latency summary: every member null or a finite number >= 0, except "method" (a string). */
static int latency_summary(checker *c, const cJSON *o, const char *key, int required)
{
    if (member(c, o, key, K_OBJECT, required)) return -1;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, key), *x;
    if (!l) return 0;
    size_t n = push_key(c, key);
    cJSON_ArrayForEach(x, l) {
        if (!strcmp(x->string, "method") ? member(c, l, x->string, K_STRING, 1)
                                         : member(c, l, x->string, K_RATE, 1))
            return -1;
    }
    pop(c, n);
    return 0;
}

/* An array of integer nanosecond counts in [lo, 2^53]. */
static int ns_array(checker *c, const cJSON *run, const char *key, double lo)
{
    if (member(c, run, key, K_ARRAY, 0)) return -1;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(run, key), *x;
    size_t n = push_key(c, key);
    int i = 0;
    cJSON_ArrayForEach(x, a) {
        size_t k = push_index(c, i++);
        if (!cJSON_IsNumber(x)) return refuse(c, "is %s, must be an integer number of nanoseconds", type_name(x));
        double v = x->valuedouble;
        if (!(v >= lo && v <= MAX_EXACT) || v != floor(v))
            return refuse(c, "%g is not an integer in [%.0f, 2^53] (nanoseconds%s)", v, lo,
                          lo == -1 ? "; -1 = never completed" : "");
        pop(c, k);
    }
    pop(c, n);
    return 0;
}

static int accuracy(checker *c, const cJSON *run)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(run, "accuracy");
    if (!a || cJSON_IsNull(a)) return 0;
    if (member(c, run, "accuracy", K_OBJECT, 1)) return -1;
    size_t n = push_key(c, "accuracy");
    if (member(c, a, "correct", K_COUNT, 1) || member(c, a, "total", K_COUNT, 1) || member(c, a, "value", K_RATE, 0))
        return -1;
    double k = cJSON_GetObjectItemCaseSensitive(a, "correct")->valuedouble;
    double t = cJSON_GetObjectItemCaseSensitive(a, "total")->valuedouble;
    if (k != floor(k) || t != floor(t) || k > t || t > MAX_EXACT) {
        push_key(c, "correct");
        return refuse(c, "%g of %g: counts must be integers with correct <= total", k, t);
    }
    pop(c, n);
    return 0;
}

static int repetition(checker *c, const cJSON *rep)
{
    if (!cJSON_IsObject(rep)) return refuse(c, "is %s, must be an object (one repetition)", type_name(rep));
    return member(c, rep, "valid", K_BOOL, 1) || member(c, rep, "queries", K_COUNT, 0) ||
                   member(c, rep, "duration_ns", K_COUNT, 0) || member(c, rep, "throughput_samples_per_s", K_RATE, 1) ||
                   latency_summary(c, rep, "latency_ns", 1) || member(c, rep, "accuracy", K_RATE, 0)
               ? -1
               : 0;
}

static int repetitions(checker *c, const cJSON *run)
{
    if (member(c, run, "repetitions", K_ARRAY, 0)) return -1;
    const cJSON *reps = cJSON_GetObjectItemCaseSensitive(run, "repetitions"), *x;
    size_t n = push_key(c, "repetitions");
    int i = 0;
    cJSON_ArrayForEach(x, reps) {
        size_t k = push_index(c, i++);
        if (repetition(c, x)) return -1;
        pop(c, k);
    }
    pop(c, n);
    return 0;
}

static int scenario(checker *c, const cJSON *run)
{
    static const char *const known[] = {"single-stream", "multi-stream", "server", "offline"};
    const char *s = cJSON_GetObjectItemCaseSensitive(run, "scenario")->valuestring;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(s, known[i])) return 0;
    size_t n = push_key(c, "scenario");
    int rc = refuse(c, "\"%.64s\" is not a scenario (single-stream, multi-stream, server or offline)", s);
    pop(c, n);
    return rc;
}

static int run_object(checker *c, const cJSON *run)
{
    if (!cJSON_IsObject(run) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(run, "scenario")))
        return refuse(c, "is not a run (no \"scenario\"): not a bench_mlp --format json results file");
    if (scenario(c, run) || member(c, run, "label", K_STRING, 1) || member(c, run, "mode", K_STRING, 1) ||
        member(c, run, "valid", K_BOOL, 1) || member(c, run, "settings", K_OBJECT, 1) ||
        member(c, run, "workload_digest", K_STRING, 1) || member(c, run, "queries", K_COUNT, 1) ||
        member(c, run, "samples", K_COUNT, 0) || member(c, run, "duration_ns", K_COUNT, 1) ||
        member(c, run, "throughput_samples_per_s", K_RATE, 1) || member(c, run, "completed_qps", K_RATE, 0) ||
        member(c, run, "scheduled_qps", K_RATE, 0) || member(c, run, "service_samples_per_s", K_RATE, 0) ||
        latency_summary(c, run, "latency_ns", 1) || latency_summary(c, run, "issue_delay_ns", 0) ||
        repetitions(c, run) || member(c, run, "aggregate", K_OBJECT, 0) || member(c, run, "find_peak", K_OBJECT, 0) ||
        ns_array(c, run, "latencies_ns", -1) || ns_array(c, run, "issue_delays_ns", -MAX_EXACT) || accuracy(c, run))
        return -1;
    return 0;
}

static int version(checker *c, const cJSON *doc)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "schema_version");
    if (!v) return 0; /* version 0: written before the key existed, same structure */
    size_t n = push_key(c, "schema_version");
    int rc = 0;
    if (!cJSON_IsNumber(v)) rc = refuse(c, "is %s, must be an integer", type_name(v));
    else if (v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
             v->valuedouble > TMLP_RESULT_SCHEMA_VERSION)
        rc = refuse(c, "%g is not a version this bench_mlp reads (it reads up to %d; no key = version 0)",
                    v->valuedouble, TMLP_RESULT_SCHEMA_VERSION);
    pop(c, n);
    return rc;
}

int tmlp_result_check(const cJSON *doc, const char *file, char *msg, size_t cap)
{
    checker c = {.file = file, .msg = msg, .cap = cap};
    if (!cJSON_IsObject(doc)) return refuse(&c, "is %s, not a bench_mlp results object", type_name(doc));
    if (version(&c, doc)) return -1;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs"), *run;
    push_key(&c, "runs");
    if (!cJSON_IsArray(runs)) return refuse(&c, "no \"runs\" array: not a bench_mlp --format json results file");
    if (cJSON_GetArraySize(runs) < 1) return refuse(&c, "\"runs\" is empty: the results file holds no run");
    int i = 0;
    cJSON_ArrayForEach(run, runs) {
        size_t k = push_index(&c, i++);
        if (run_object(&c, run)) return -1;
        pop(&c, k);
    }
    c.ptr[0] = '\0';
    if (member(&c, doc, "context", K_OBJECT, 0) || member(&c, doc, "resources", K_OBJECT, 0) ||
        member(&c, doc, "precisions", K_ARRAY, 0) || member(&c, doc, "paired_vs_f32", K_OBJECT, 0))
        return -1;
    return 0;
}

static int fail_io(char *msg, size_t cap, const char *fmt, const char *path, const char *why)
{
    snprintf(msg, cap, fmt, path, why);
    return -1;
}

int tmlp_result_slurp(const char *path, char **text, size_t *len, char *msg, size_t cap)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_io(msg, cap, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail_io(msg, cap, "cannot read %s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail_io(msg, cap, "cannot read %s: %s", path, strerror(EISDIR));
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > TMLP_RESULT_MAX_BYTES) {
        close(fd);
        snprintf(msg, cap, "%s: %jd bytes, above the %zu MiB a results file may have", path, (intmax_t)st.st_size,
                 TMLP_RESULT_MAX_BYTES >> 20);
        return -1;
    }
    /* a regular file: its size plus one byte (growth shows as a full buffer); else 64 KiB steps */
    size_t want = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (size_t)1 << 16, n = 0;
    char *buf = malloc(want + 1);
    for (;;) {
        if (!buf) {
            close(fd);
            return fail_io(msg, cap, "%s: %s", path, "out of memory reading the file");
        }
        ssize_t got = read(fd, buf + n, want - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fail_io(msg, cap, "cannot read %s: %s", path, strerror(e));
        }
        if (got == 0) break;
        n += (size_t)got;
        if (n > TMLP_RESULT_MAX_BYTES) {
            free(buf);
            close(fd);
            snprintf(msg, cap, "%s: more than the %zu MiB a results file may have", path, TMLP_RESULT_MAX_BYTES >> 20);
            return -1;
        }
        if (n == want) { /* full: grow, at most to one byte past the cap */
            want = want * 2 > TMLP_RESULT_MAX_BYTES + 1 ? TMLP_RESULT_MAX_BYTES + 1 : want * 2;
            char *nb = realloc(buf, want + 1);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

cJSON *tmlp_result_read(const char *path, char *msg, size_t cap)
{
    char *text;
    size_t len;
    if (tmlp_result_slurp(path, &text, &len, msg, cap)) return NULL;
    const char *end = NULL;
    /* NUL-terminated (a NUL inside ends the text); only white space may follow the value */
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (!doc) {
        long off = end && end >= text && end <= text + len ? (long)(end - text) : -1;
        snprintf(msg, cap, "%s: not valid JSON (near byte %ld)", path, off);
    } else if (tmlp_result_check(doc, path, msg, cap)) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    free(text);
    return doc;
}
