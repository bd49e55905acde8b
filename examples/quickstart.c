/* quickstart.c — load a model, classify one input, check every status (README). */
#include <stdio.h>
#include <tinymlp.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "models/fashion_mlp.safetensors";
    tmlp_model *m = NULL;  tmlp_session *s = NULL;
    tmlp_error err;                            /* filled with a one-line message on failure */
    float x[784] = {0};                        /* one 28x28 image, filled by you */
    tmlp_tensor in = tmlp_tensor_2d(x, 1, 784), out;
    int rc = 1;
    if (tmlp_model_load(path, NULL, &m, &err) != TMLP_OK ||
        tmlp_session_create(m, 1, &s, &err) != TMLP_OK ||   /* batches of up to 1 row */
        tmlp_session_forward(s, &in, &out, &err) != TMLP_OK) /* out: a view into s */
        fprintf(stderr, "quickstart: %s\n", err.message);
    else {
        printf("class %lld of %lld\n", (long long)tmlp_argmax(out.data, out.shape[1]),
               (long long)out.shape[1]);
        rc = 0;
    }
    tmlp_session_destroy(s);                   /* both accept NULL */
    tmlp_model_destroy(m);
    return rc;
}
