/* load_pytorch.c — step 4: run a model trained in PyTorch.
 *
 * Export it in Python with tools/export_safetensors.py (Debian's python3-torch alone):
 *
 *     python3 tools/export_safetensors.py model.pt model.safetensors \
 *         --layers linear,relu,linear,softmax
 *     # or, in your own script:  from export_safetensors import save_sequential
 *     #                          save_sequential(model, "model.safetensors")
 *
 * An nn.Sequential's state_dict names module i's parameters "<i>.weight" (out, in) and
 * "<i>.bias" (out); the file's "tinymlp.layers" metadata lists the modules in PyTorch's
 * names ("linear" is our dense layer). Two ways to load it:
 *   1. tmlp_model_load: the architecture comes from the file (or from opts.layers);
 *   2. tmlp_model_load_weights: you build the architecture in C and the file fills it —
 *      every tensor's name and shape is checked against your layers.
 * Both give the same outputs, which this program checks.
 *
 *     ./load_pytorch model.safetensors
 * Next: load_onnx.c (the same from an ONNX file), threads.c.
 */
#include <stdio.h>
#include <string.h>
#include <tinymlp.h>

/* Forward one row of 0.5s; out receives the first `n` outputs. */
static tmlp_status run(const tmlp_model *m, float *result, int64_t n, tmlp_error *err)
{
    tmlp_session *s;
    tmlp_status st = tmlp_session_create(m, 1, &s, err);
    if (st != TMLP_OK) return st;
    float x[4096];
    const int64_t w = tmlp_model_input_width(m);
    for (int64_t i = 0; i < w && i < 4096; i++) x[i] = 0.5f;
    tmlp_tensor in = tmlp_tensor_2d(x, 1, w), out;
    st = w <= 4096 ? tmlp_session_forward(s, &in, &out, err) : TMLP_ERR_ARG;
    if (st == TMLP_OK) memcpy(result, out.data, (size_t)n * sizeof *result);
    tmlp_session_destroy(s);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s model.safetensors\n", argv[0]);
        return 2;
    }
    tmlp_error err;
    tmlp_model *a = NULL, *b = NULL;
    float ya[16], yb[16];
    int rc = 1;

    /* 1. The whole model from the file. */
    if (tmlp_model_load(argv[1], NULL, &a, &err) != TMLP_OK) goto fail;
    char layers[256];
    tmlp_model_layers_string(a, layers, sizeof layers, NULL);
    const int64_t in_w = tmlp_model_input_width(a), out_w = tmlp_model_output_width(a);
    printf("%s: %s, %lld -> %lld\n", argv[1], layers, (long long)in_w, (long long)out_w);
    const int64_t n = out_w < 16 ? out_w : 16;

    /* 2. The same architecture built in C (zeros), then filled from the file. */
    if (tmlp_model_create(in_w, NULL, &b, &err) != TMLP_OK) goto fail;
    for (int i = 0; i < tmlp_model_layer_count(a); i++) {
        tmlp_layer_info li;
        tmlp_status st = tmlp_model_layer_info(a, i, &li, NULL);
        if (st == TMLP_OK && li.kind == TMLP_LAYER_DENSE) {
            static float zeros[1 << 20];        /* enough for this example's models */
            st = li.in_width * li.out_width <= (1 << 20)
                     ? tmlp_model_add_dense(b, li.in_width, li.out_width, zeros, NULL, &err)
                     : TMLP_ERR_UNSUPPORTED;
        } else if (st == TMLP_OK) {
            st = li.kind == TMLP_LAYER_RELU ? tmlp_model_add_relu(b, &err)
                                            : tmlp_model_add_softmax(b, &err);
        }
        if (st != TMLP_OK) goto fail;
    }
    if (tmlp_model_load_weights(b, argv[1], &err) != TMLP_OK) goto fail;

    if (run(a, ya, n, &err) != TMLP_OK || run(b, yb, n, &err) != TMLP_OK) goto fail;
    printf("outputs for an input of 0.5s:");
    for (int64_t k = 0; k < n; k++) printf(" %.4f", ya[k]);
    printf("\nload and load_weights agree: %s\n", memcmp(ya, yb, (size_t)n * sizeof *ya) ? "no" : "yes");
    rc = memcmp(ya, yb, (size_t)n * sizeof *ya) ? 1 : 0;
    goto done;
fail:
    fprintf(stderr, "load_pytorch: %s\n", err.message);
done:
    tmlp_model_destroy(b);
    tmlp_model_destroy(a);
    return rc;
}
