/* test_threads.c — one model shared by 4 threads, each with its own session, running 200
 * forwards at batch 1 (sgemv) and batch 8 (sgemm): every output must be bit-identical to
 * the single-threaded result. This is the "immutable model + per-thread session" promise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"

#include <pthread.h>
#include <string.h>

enum { NTHREADS = 4, ITERS = 200, NINPUTS = 16, IN = 196, OUT = 10, MAXB = 8 };

typedef struct shared {
    const tmlp_model *model;
    float x[NINPUTS][MAXB * IN];
    float expect1[NINPUTS][OUT];        /* batch 1: row 0 of input i */
    float expect8[NINPUTS][MAXB * OUT]; /* batch 8 */
} shared;

typedef struct job {
    shared *sh;
    int id;
    int mismatches;
    int errors;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    tmlp_session *s;
    if (tmlp_session_create(j->sh->model, MAXB, &s, NULL) != TMLP_OK) {
        j->errors++;
        return NULL;
    }
    for (int it = 0; it < ITERS; it++) {
        const int k = (it * 7 + j->id * 3) % NINPUTS; /* threads visit inputs in different orders */
        const int64_t batch = (it + j->id) % 2 ? MAXB : 1;
        tmlp_tensor in = tmlp_tensor_2d(j->sh->x[k], batch, IN), out;
        if (tmlp_session_forward(s, &in, &out, NULL) != TMLP_OK) {
            j->errors++;
            continue;
        }
        const float *e = batch == 1 ? j->sh->expect1[k] : j->sh->expect8[k];
        if (memcmp(out.data, e, (size_t)(batch * OUT) * sizeof(float)) != 0) j->mismatches++;
    }
    tmlp_session_destroy(s);
    return NULL;
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
    static shared sh; /* ~100 KB: keep it off the test's stack */
    const int64_t widths[4] = {IN, 256, 128, OUT};
    tmlp_model *m;
    assert_int_equal(tmlp_model_random(widths, 4, 2024, NULL, &m, NULL), TMLP_OK);
    sh.model = m;
    tmlp_rng r;
    tmlp_rng_seed(&r, 99);
    for (int i = 0; i < NINPUTS; i++)
        for (int k = 0; k < MAXB * IN; k++) sh.x[i][k] = (float)tmlp_rng_normal(&r);

    /* reference: one thread, one session */
    tmlp_session *s;
    assert_int_equal(tmlp_session_create(m, MAXB, &s, NULL), TMLP_OK);
    for (int i = 0; i < NINPUTS; i++) {
        tmlp_tensor in1 = tmlp_tensor_2d(sh.x[i], 1, IN), in8 = tmlp_tensor_2d(sh.x[i], MAXB, IN), out;
        assert_int_equal(tmlp_session_forward(s, &in1, &out, NULL), TMLP_OK);
        memcpy(sh.expect1[i], out.data, sizeof sh.expect1[i]);
        assert_int_equal(tmlp_session_forward(s, &in8, &out, NULL), TMLP_OK);
        memcpy(sh.expect8[i], out.data, sizeof sh.expect8[i]);
    }
    tmlp_session_destroy(s);

    pthread_t tid[NTHREADS];
    job jobs[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        jobs[t] = (job){&sh, t, 0, 0};
        assert_int_equal(pthread_create(&tid[t], NULL, worker, &jobs[t]), 0);
    }
    int mismatches = 0, errors = 0;
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        mismatches += jobs[t].mismatches;
        errors += jobs[t].errors;
    }
    assert_int_equal(errors, 0);
    assert_int_equal(mismatches, 0);
    tmlp_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
