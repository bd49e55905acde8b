/* identity.c — layers whose output is their input: nn.Identity, and nn.Dropout at inference
 * (dropout zeroes activations only while training; eval mode passes them through).
 *
 *     y = x,   x:(B, n) -> y:(B, n)
 *
 * They exist so that a PyTorch nn.Sequential keeps its module numbering ("3.weight" stays
 * module 3's) and its layer string round-trips. The session skips them (`passthrough`):
 * they cost no pass and no copy. forward is still correct (a copy) for any other caller.
 * A passthrough layer between a Dense and an activation stops the two from fusing, which
 * makes "linear, identity, gelu" the unfused twin of "linear, gelu" in the tests.
 *
 * Next: session.c (run_layers skips them).
 */
#include "layer.h"

#include "internal.h"

#include <string.h>

static void identity_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                             float *scratch)
{
    (void)scratch;
    if (y != x) memcpy(y, x, (size_t)(batch * l->out_width) * sizeof(float));
}

static int64_t identity_flops(const tmlp_layer *l) { (void)l; return 0; }

static const tmlp_layer_ops dropout_ops = {
    .name = "dropout",
    .kind = TMLP_LAYER_DROPOUT,
    .in_place = true,
    .passthrough = true,
    .forward = identity_forward,
    .param_count = tmlp_layer_plain_param_count,
    .flops_per_sample = identity_flops,
    .destroy = tmlp_layer_plain_destroy,
};

static const tmlp_layer_ops identity_ops = {
    .name = "identity",
    .kind = TMLP_LAYER_IDENTITY,
    .in_place = true,
    .passthrough = true,
    .forward = identity_forward,
    .param_count = tmlp_layer_plain_param_count,
    .flops_per_sample = identity_flops,
    .destroy = tmlp_layer_plain_destroy,
};

tmlp_status tmlp_identity_create(const tmlp_allocator *a, int64_t width, tmlp_layer_kind kind,
                                 tmlp_layer **out_layer, tmlp_error *err)
{
    const tmlp_layer_ops *ops = kind == TMLP_LAYER_DROPOUT    ? &dropout_ops
                                : kind == TMLP_LAYER_IDENTITY ? &identity_ops
                                                              : NULL;
    if (!ops) return tmlp_error_set(err, TMLP_ERR_ARG, "identity: kind %d is not dropout or identity", (int)kind);
    return tmlp_layer_plain_create(a, ops, width, out_layer, err);
}
