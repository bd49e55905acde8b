/* test_oom_json.c — the JSON results document under allocation failures.
 *
 * Each libc malloc/calloc of building the document of a small run fails in turn (link-time
 * wrappers, as in test_oom_sut.c). Every attempt must give either no document (the builder
 * noticed: bench_mlp then exits 1 with a message) or a document with every key of the
 * reference document — never a valid-looking one with keys missing (before: 308 of 310
 * injected failures gave exit 0 with /context/cores or /runs[2]/mode missing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precision.h"
#include "run.h"
#include "tinymlp.h"

#include "fail_alloc.h"

/* Every key path of a document, one per line ("/runs/0/mode"), into buf. */
static void key_paths(const cJSON *x, char *prefix, size_t plen, char *buf, size_t cap)
{
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, x) {
        size_t n = plen;
        if (cJSON_IsArray(x)) n += (size_t)snprintf(prefix + plen, 512 - plen, "/%d", i++);
        else n += (size_t)snprintf(prefix + plen, 512 - plen, "/%s", c->string ? c->string : "?");
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s\n", prefix);
        key_paths(c, prefix, n, buf, cap);
        prefix[plen] = '\0';
    }
}

static void test_json_doc_each_failure(void **state)
{
    (void)state;
    tmlp_sut sut = tmlp_null_sut(16);
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 0;
    s.min_query_count = 20;
    s.max_query_count = 20;
    tmlp_bench_result *r = NULL;
    assert_int_equal(tmlp_bench_run_scenario(&s, &sut, &r, NULL), TMLP_OK);
    tmlp_run_row rows[2];
    memset(rows, 0, sizeof rows);
    rows[0].result = r;
    rows[1].result = r;
    snprintf(rows[0].label, sizeof rows[0].label, "single-stream");
    snprintf(rows[1].label, sizeof rows[1].label, "again");
    tmlp_run_info info;
    memset(&info, 0, sizeof info);
    info.model_kind = info.model_source = "null";
    info.data_kind = info.data_source = "synthetic";
    info.data_dtype = "f32";
    /* an accuracy run at int8: the paired comparison with f32 is part of the document */
    tmlp_paired_acc paired = {.n = 16, .labeled = 16, .correct_a = 12, .correct_b = 11, .a_only = 2, .b_only = 1,
                              .agree_top1 = 14, .max_abs_logit = 0.3, .mean_abs_logit = 0.03, .mcnemar_p = 1.0,
                              .mcnemar_exact = 1, .diff = -1.0 / 16, .ci_low = -0.2, .ci_high = 0.1};
    info.paired = &paired;
    info.paired_name = "int8";
    info.paired_alpha = 0.05;

    static char ref[1 << 16], got[1 << 16], prefix[512];
    cJSON *doc = tmlp_out_json_doc(&info, rows, 2, NULL, NULL);
    assert_non_null(doc);
    ref[0] = prefix[0] = '\0';
    key_paths(doc, prefix, 0, ref, sizeof ref);
    cJSON_Delete(doc);
    assert_non_null(strstr(ref, "/runs/1/mode\n"));
    assert_non_null(strstr(ref, "/runs/0/latencies_ns/19\n"));
    assert_non_null(strstr(ref, "/paired_vs_f32/mcnemar/p\n"));
    assert_non_null(strstr(ref, "/paired_vs_f32/logit_error/rows_skipped\n"));

    int refused = 0, complete = 0;
    for (long k = 0; k < 100000; k++) {
        g_count = 0;
        g_fail_at = k;
        doc = tmlp_out_json_doc(&info, rows, 2, NULL, NULL);
        long used = g_count;
        g_fail_at = -1;
        if (!doc) {
            refused++;
        } else {
            got[0] = prefix[0] = '\0';
            key_paths(doc, prefix, 0, got, sizeof got);
            cJSON_Delete(doc);
            if (strcmp(got, ref) != 0) {
                const char *a = ref, *b = got; /* the first differing key path */
                while (*a && *a == *b) a++, b++;
                while (a > ref && a[-1] != '\n') a--;
                fail_msg("allocation %ld failing gave a document without \"%.*s\"", k, (int)strcspn(a, "\n"), a);
            }
            complete++;
        }
        if (used <= k) break; /* no allocation was failed: every site has been tried */
    }
    printf("# %d attempts refused, %d complete\n", refused, complete);
    assert_true(refused > 10);
    tmlp_bench_result_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_json_doc_each_failure)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
