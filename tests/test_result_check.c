/* test_result_check.c — tmlp_result_check (bench/result_check.c), the check every reader of a
 * results file runs: a minimal valid document passes (with and without "schema_version"),
 * and each malformed field is refused with "FILE: /json/pointer: reason" naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result_check.h"
#include "tmpdir.h"

/* The smallest document a reader accepts: one single-stream run. The first %s opens the
 * document, the second the run: cJSON reads the first of two equal keys, so a key spliced
 * there overrides the one below. */
static const char *const MINIMAL =
    "{%s \"context\": {\"host\": \"h\"}, \"runs\": [{%s\"scenario\": \"single-stream\", \"label\": \"ss\", "
    "\"mode\": \"performance\", \"valid\": true, \"settings\": {}, \"workload_digest\": \"0123456789abcdef\", "
    "\"queries\": 10, \"duration_ns\": 1000, \"throughput_samples_per_s\": 1e4, "
    "\"latency_ns\": {\"count\": 10, \"p50\": 90, \"p99\": null, \"method\": \"loadgen\"}}]}";

/* Check MINIMAL with `top` ("key": value,) opening the document and `run` (", key: value")
 * the run; returns the status and leaves the message in msg. */
static int check(const char *top, const char *run, char *msg, size_t cap)
{
    char text[4096], first[2048] = "";
    if (run[0]) snprintf(first, sizeof first, "%s, ", run + 2);
    snprintf(text, sizeof text, MINIMAL, top, first);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    msg[0] = '\0';
    int rc = tmlp_result_check(doc, "f.json", msg, cap);
    cJSON_Delete(doc);
    return rc;
}

static void refused(const char *top, const char *run, const char *pointer)
{
    char msg[512], want[128];
    assert_int_equal(check(top, run, msg, sizeof msg), -1);
    snprintf(want, sizeof want, "f.json: %s: ", pointer);
    if (strncmp(msg, want, strlen(want))) fail_msg("got \"%s\", want it to start with \"%s\"", msg, want);
    assert_null(strchr(msg, '\n'));
}

static void test_minimal_documents_pass(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(check("", "", msg, sizeof msg), 0);                       /* version 0 (no key) */
    assert_int_equal(check("\"schema_version\": 1,", "", msg, sizeof msg), 0); /* version 1 */
    /* optional parts, present and well-formed */
    assert_int_equal(check("", ", \"latencies_ns\": [-1, 0, 5, 9007199254740992], \"accuracy\": null, "
                               "\"repetitions\": [{\"valid\": false, \"throughput_samples_per_s\": null, "
                               "\"latency_ns\": {\"p50\": 1}}], \"issue_delays_ns\": [-3, 4]",
                           msg, sizeof msg), 0);
    assert_int_equal(check("", ", \"accuracy\": {\"correct\": 3, \"total\": 4, \"value\": 0.75}", msg, sizeof msg), 0);
    /* keys no reader uses are left alone */
    assert_int_equal(check("\"extra\": [1, 2],", ", \"note\": {\"x\": -1}", msg, sizeof msg), 0);
}

static void test_version(void **state)
{
    (void)state;
    refused("\"schema_version\": 2,", "", "/schema_version");
    refused("\"schema_version\": 0,", "", "/schema_version");
    refused("\"schema_version\": 1.5,", "", "/schema_version");
    refused("\"schema_version\": \"1\",", "", "/schema_version");
    refused("\"schema_version\": null,", "", "/schema_version");
}

static void test_structure(void **state)
{
    (void)state;
    char msg[512];
    cJSON *doc = cJSON_Parse("[1]");
    assert_int_equal(tmlp_result_check(doc, "f.json", msg, sizeof msg), -1);
    assert_string_equal(msg, "f.json: /: is an array, not a bench_mlp results object");
    cJSON_Delete(doc);
    doc = cJSON_Parse("{\"runs\": []}");
    assert_int_equal(tmlp_result_check(doc, "f.json", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "f.json: /runs: \"runs\" is empty: the results file holds no run"));
    cJSON_Delete(doc);
    doc = cJSON_Parse("{\"runs\": [{\"scenario\": \"single-stream\"}]}");
    assert_int_equal(tmlp_result_check(doc, "f.json", msg, sizeof msg), -1);
    assert_string_equal(msg, "f.json: /runs/0/label: missing (must be a string)");
    cJSON_Delete(doc);
    doc = cJSON_Parse("{\"runs\": [1]}");
    assert_int_equal(tmlp_result_check(doc, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "results: /runs/0: is not a run"));
    cJSON_Delete(doc);
    refused("\"context\": 3, \"x\": 0,", "", "/context"); /* a duplicate key: the first one counts */
    refused("", ", \"settings\": []", "/runs/0/settings");
    refused("", ", \"valid\": \"yes\"", "/runs/0/valid");
}

static void test_figures(void **state)
{
    (void)state;
    refused("", ", \"latency_ns\": {\"p50\": -1}", "/runs/0/latency_ns/p50");
    refused("", ", \"latency_ns\": {\"p50\": 1e999}", "/runs/0/latency_ns/p50");
    refused("", ", \"latency_ns\": {\"p50\": \"fast\"}", "/runs/0/latency_ns/p50");
    refused("", ", \"latency_ns\": {\"a/b~\": -2}", "/runs/0/latency_ns/a~1b~0"); /* RFC 6901 escapes */
    refused("", ", \"throughput_samples_per_s\": -3", "/runs/0/throughput_samples_per_s");
    refused("", ", \"queries\": null", "/runs/0/queries");
    refused("", ", \"latencies_ns\": [-1, -5, 0, 1e300]", "/runs/0/latencies_ns/1");
    refused("", ", \"latencies_ns\": [0, 1e300]", "/runs/0/latencies_ns/1");
    refused("", ", \"latencies_ns\": [0.5]", "/runs/0/latencies_ns/0");
    refused("", ", \"repetitions\": {\"0\": {}}", "/runs/0/repetitions");
    refused("", ", \"repetitions\": [{\"valid\": true, \"throughput_samples_per_s\": 1, \"latency_ns\": "
                "{\"p99\": -0.5}}]", "/runs/0/repetitions/0/latency_ns/p99");
    refused("", ", \"repetitions\": [7]", "/runs/0/repetitions/0");
    refused("", ", \"accuracy\": {\"correct\": 5, \"total\": 4}", "/runs/0/accuracy/correct");
    refused("", ", \"scenario\": \"batch\"", "/runs/0/scenario");
}

/* The size cap is checked before parsing: a sparse file above it is refused at once. */
static void test_size_cap(void **state)
{
    test_tmpdir *t = *state;
    char path[4096], msg[512];
    test_tmpdir_join(t, "big.json", path, sizeof path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)TMLP_RESULT_MAX_BYTES, SEEK_SET), 0);
    assert_int_equal(fputc('}', f), '}');
    assert_int_equal(fclose(f), 0);
    assert_null(tmlp_result_read(path, msg, sizeof msg));
    assert_non_null(strstr(msg, "above the 64 MiB"));
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"runs\": [{\"scenario\": \"offline\"}]} \n", f);
    assert_int_equal(fclose(f), 0);
    assert_null(tmlp_result_read(path, msg, sizeof msg));
    assert_non_null(strstr(msg, "big.json: /runs/0/label: missing"));
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"runs\": []} trailing", f);
    assert_int_equal(fclose(f), 0);
    assert_null(tmlp_result_read(path, msg, sizeof msg));
    assert_non_null(strstr(msg, "not valid JSON"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_documents_pass), cmocka_unit_test(test_version),
        cmocka_unit_test(test_structure), cmocka_unit_test(test_figures), TEST_IN_TMPDIR(test_size_cap)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
