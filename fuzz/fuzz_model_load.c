/* fuzz_model_load.c — libFuzzer target for the whole model loader: container parsing
 * (tmlp_st_parse) plus model assembly (layer list, tensor names, shapes, dtypes, the
 * preprocessing metadata), then a forward pass through any model that loads.
 *
 * The input is written to a file on /dev/shm (made by mkstemp once per process) because
 * tmlp_model_load reads from a path; the loader recognises ONNX by content, so ONNX seeds
 * reach the ONNX importer through the same target.
 * Each input is tried with the file's own layer list and with a few explicit ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tinymlp/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) { /* one unguessable file per process (mkstemp), rewritten for each input */
        snprintf(path, sizeof path, "/dev/shm/tmlp_fuzz_model_XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) { path[0] = '\0'; return 0; }
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    static const char *lists[] = {NULL, "linear,relu,linear,relu,linear", "linear", "linear,softmax"};
    for (int i = 0; i < 4; i++) {
        tmlp_model *m = NULL;
        tmlp_error err;
        tmlp_model_options o = tmlp_model_options_default();
        o.layers = lists[i];
        if (tmlp_model_load(path, &o, &m, &err) != TMLP_OK) continue;
        tmlp_session *s = NULL;
        if (tmlp_session_create(m, 2, &s, NULL) == TMLP_OK) {
            int64_t w = tmlp_model_input_width(m);
            if (w <= 4096) {
                float *x = calloc((size_t)(2 * w), sizeof(float));
                tmlp_tensor in = tmlp_tensor_2d(x, 2, w), out;
                /* a model that loaded must run: anything else is a bug */
                if (x && tmlp_session_forward(s, &in, &out, NULL) != TMLP_OK) abort();
                free(x);
            }
            tmlp_session_destroy(s);
        }
        tmlp_model_destroy(m);
    }
    return 0;
}
