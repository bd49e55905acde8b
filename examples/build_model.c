/* build_model.c — step 3 of the examples ladder: a model built from C arrays (no file):
 * Dense(3 -> 2) + ReLU + Softmax, run on a batch of two rows. Row 0 is checkable on
 * paper: logits (9, 18). Every builder call checks the shapes as the layer is added.
 *
 *     cc build_model.c $(pkg-config --cflags --libs tinymlp) -o build_model
 * Next: load_pytorch.c (weights from a file, into a model like this one).
 */
#include <tinymlp.h>
#include <stdio.h>

int main(void)
{
    /* Dense(3 -> 2) + ReLU + Softmax. W is (out, in) row-major, as in PyTorch. */
    const float W[2 * 3] = {1, 2, 3,
                            4, 5, 6};
    const float b[2] = {0.5f, -1.0f};
    tmlp_model *m;
    tmlp_error err;
    if (tmlp_model_create(3, NULL, &m, &err) != TMLP_OK ||
        tmlp_model_add_dense(m, 3, 2, W, b, &err) != TMLP_OK ||  /* W and b are copied */
        tmlp_model_add_relu(m, &err) != TMLP_OK ||
        tmlp_model_add_softmax(m, &err) != TMLP_OK) {
        fprintf(stderr, "%s\n", err.message);
        tmlp_model_destroy(m);
        return 1;
    }
    tmlp_session *s;
    if (tmlp_session_create(m, 2, &s, &err) != TMLP_OK) { /* batches of up to 2 rows */
        fprintf(stderr, "%s\n", err.message);
        tmlp_model_destroy(m);
        return 1;
    }
    float x[2 * 3] = {0.5f, 1, 2,     /* row 0: logits (9, 18) */
                      1,    0, -1};   /* row 1: logits (-1.5, -3) -> ReLU -> (0, 0) */
    tmlp_tensor in = tmlp_tensor_2d(x, 2, 3), out;
    tmlp_status st = tmlp_session_forward(s, &in, &out, &err);
    if (st == TMLP_OK)
        for (int r = 0; r < 2; r++)
            printf("row %d: %.6f %.6f\n", r, out.data[2 * r], out.data[2 * r + 1]);
    else
        fprintf(stderr, "%s\n", err.message);
    tmlp_session_destroy(s);
    tmlp_model_destroy(m);
    return st == TMLP_OK ? 0 : 1;
}
