/* threads.c — step 5: one model, one session per thread.
 *
 * A finished model is read-only, so any number of threads may share it; a session holds
 * the buffers one forward writes, so each thread makes its own. That is the whole
 * threading rule (docs/c-api.md, "Threads"). BLAS runs with 1 thread here: with several
 * of our own threads, OpenBLAS's own pool would only compete with them for the cores.
 *
 *     cc threads.c $(pkg-config --cflags --libs tinymlp) -lpthread -o threads
 * Next: harness_null.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <tinymlp.h>

enum { THREADS = 4, ROWS = 100 };

typedef struct job {
    const tmlp_model *model;   /* shared, read-only */
    int first_row;             /* this thread's inputs: rows first_row .. first_row + ROWS */
    int64_t classes[ROWS];
    tmlp_status status;
    tmlp_error err;
} job;

/* The input row r: a deterministic pattern, so the single-thread check can rebuild it. */
static void make_row(float *x, int64_t w, int r)
{
    for (int64_t i = 0; i < w; i++) x[i] = (float)((r * 31 + i * 7) % 255) / 255.0f;
}

static void *work(void *arg)
{
    job *j = arg;
    tmlp_session *s;           /* this thread's own buffers */
    j->status = tmlp_session_create(j->model, 1, &s, &j->err);
    if (j->status != TMLP_OK) return NULL;
    float x[784];
    for (int r = 0; r < ROWS && j->status == TMLP_OK; r++) {
        make_row(x, 784, j->first_row + r);
        tmlp_tensor in = tmlp_tensor_2d(x, 1, 784), out;
        j->status = tmlp_session_forward(s, &in, &out, &j->err);
        if (j->status == TMLP_OK) j->classes[r] = tmlp_argmax(out.data, out.shape[1]);
    }
    tmlp_session_destroy(s);
    return NULL;
}

int main(void)
{
    const int64_t widths[] = {784, 128, 10};
    tmlp_model *m;
    tmlp_error err;
    if (tmlp_blas_set_threads(1, &err) != TMLP_OK ||
        tmlp_model_random(widths, 3, 7, NULL, &m, &err) != TMLP_OK) {
        fprintf(stderr, "threads: %s\n", err.message);
        return 1;
    }
    static job jobs[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){.model = m, .first_row = t * ROWS};
        if (pthread_create(&tid[t], NULL, work, &jobs[t]) != 0) return 1;
    }
    for (int t = 0; t < THREADS; t++) pthread_join(tid[t], NULL);

    /* Check against one session on this thread: sharing the model changed nothing. */
    tmlp_session *s;
    int rc = tmlp_session_create(m, 1, &s, &err) == TMLP_OK ? 0 : 1;
    int mismatches = 0;
    for (int t = 0; t < THREADS && rc == 0; t++) {
        if (jobs[t].status != TMLP_OK) {
            fprintf(stderr, "threads: thread %d: %s\n", t, jobs[t].err.message);
            rc = 1;
            break;
        }
        for (int r = 0; r < ROWS; r++) {
            float x[784];
            make_row(x, 784, t * ROWS + r);
            tmlp_tensor in = tmlp_tensor_2d(x, 1, 784), out;
            if (tmlp_session_forward(s, &in, &out, &err) != TMLP_OK) return 1;
            mismatches += tmlp_argmax(out.data, 10) != jobs[t].classes[r];
        }
    }
    printf("%d threads x %d rows, one shared model: %d mismatches against one thread\n", THREADS,
           ROWS, mismatches);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    return rc || mismatches ? 1 : 0;
}
