/* classify.c — the whole tinymlp API in one sitting: load a model, make a session,
 * run one input through it, print the predicted class.
 *
 *     cc classify.c $(pkg-config --cflags --libs tinymlp) -o classify
 *     ./classify model.safetensors 0.1 0.5 0.9 ...     (inputs not given are 0)
 */
#include <tinymlp.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.safetensors [x0 x1 ...]\n", argv[0]);
        return 2;
    }
    tmlp_model *model;
    tmlp_error err;
    if (tmlp_model_load(argv[1], NULL, &model, &err) != TMLP_OK) { /* NULL: layers from the file */
        fprintf(stderr, "classify: %s\n", err.message); /* names the file */
        return 1;
    }
    tmlp_session *session; /* buffers for batches of up to 1 row */
    tmlp_status st = tmlp_session_create(model, 1, &session, NULL);
    const int64_t n = tmlp_model_input_width(model);
    float *x = calloc((size_t)n, sizeof *x);
    if (st == TMLP_OK && !x) st = TMLP_ERR_NOMEM;
    if (st == TMLP_OK) {
        for (int64_t i = 0; i < n && i + 2 < argc; i++) x[i] = strtof(argv[i + 2], NULL);
        tmlp_tensor in = tmlp_tensor_2d(x, 1, n), out; /* out: a view into the session */
        st = tmlp_session_forward(session, &in, &out, NULL);
        if (st == TMLP_OK) {
            const int64_t k = tmlp_argmax(out.data, out.shape[1]);
            printf("class %lld (score %.4f) of %lld\n", (long long)k, out.data[k], (long long)out.shape[1]);
        }
    }
    if (st != TMLP_OK) fprintf(stderr, "classify: %s\n", tmlp_status_str(st));
    free(x);
    tmlp_session_destroy(session);
    tmlp_model_destroy(model);
    return st == TMLP_OK ? 0 : 1;
}
