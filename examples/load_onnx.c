/* load_onnx.c — step 4b: run a model exported to ONNX, and see what it became.
 *
 * Export it in Python (torch.onnx.export, docs/formats.md "ONNX files") or with
 * tools/export_onnx.py. tmlp_model_load recognises ONNX by the file's first bytes and
 * maps the graph onto layers: Gemm -> dense, an activation after it -> that Dense's
 * epilogue, the five ops torch writes for a GELU -> one gelu layer, what no layer covers
 * -> a "graph" layer that evaluates the ops as written (docs/internals.md, section 11).
 *
 *     ./load_onnx model.onnx [value]      forwards one row of `value` (default 0.5)
 *
 * Prints each layer with what runs it, then the outputs. Next: threads.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tinymlp.h>

/* One line per layer: "  1 gelu 9->9 (fused into layer 0)". */
static tmlp_status print_layers(const tmlp_model *m, tmlp_error *err)
{
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info li;
        tmlp_status st = tmlp_model_layer_info(m, i, &li, err);
        if (st != TMLP_OK) return st;
        printf("  %d %s %lld->%lld", i, li.name, (long long)li.in_width, (long long)li.out_width);
        if (li.fused_into >= 0) printf(" (fused into layer %d)", li.fused_into);
        printf("\n");
    }
    return TMLP_OK;
}

/* Forward one row of `value`s and print the outputs. */
static tmlp_status run(const tmlp_model *m, float value, tmlp_error *err)
{
    const int64_t w = tmlp_model_input_width(m);
    float *x = malloc((size_t)w * sizeof *x);
    tmlp_session *s = NULL;
    tmlp_status st = x ? tmlp_session_create(m, 1, &s, err) : TMLP_ERR_NOMEM;
    if (st == TMLP_OK) {
        for (int64_t i = 0; i < w; i++) x[i] = value;
        tmlp_tensor in = tmlp_tensor_2d(x, 1, w), out;
        st = tmlp_session_forward(s, &in, &out, err);
        for (int64_t j = 0; st == TMLP_OK && j < out.shape[1]; j++)
            printf("%s%.6g", j ? " " : "y = ", out.data[j]);
        if (st == TMLP_OK) printf("\n");
    }
    tmlp_session_destroy(s);
    free(x);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s model.onnx [value]\n", argv[0]);
        return 2;
    }
    tmlp_error err = {0};
    tmlp_model *m = NULL;
    tmlp_status st = tmlp_model_load(argv[1], NULL, &m, &err);
    if (st == TMLP_OK) {
        printf("%s: %lld -> %lld, %d layers\n", argv[1], (long long)tmlp_model_input_width(m),
               (long long)tmlp_model_output_width(m), tmlp_model_layer_count(m));
        st = print_layers(m, &err);
    }
    if (st == TMLP_OK) st = run(m, argc == 3 ? strtof(argv[2], NULL) : 0.5f, &err);
    if (st != TMLP_OK) /* malloc failing in run() leaves no message: say the status */
        fprintf(stderr, "load_onnx: %s\n", err.message[0] ? err.message : tmlp_status_str(st));
    tmlp_model_destroy(m);
    return st == TMLP_OK ? 0 : 1;
}
