/* activation.c — the elementwise activations other than ReLU, one layer kind each:
 *
 *     leaky_relu  y = x >= 0 ? x : slope * x            nn.LeakyReLU(slope)
 *     gelu        y = 0.5 x (1 + erf(x / sqrt 2))        nn.GELU()
 *     gelu_tanh   y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *                                                        nn.GELU(approximate='tanh')
 *     tanh        y = tanh(x)                            nn.Tanh()
 *     sigmoid     y = 1 / (1 + exp(-x))                  nn.Sigmoid()
 *     silu        y = x * sigmoid(x)                     nn.SiLU()
 *     x:(B, n) -> y:(B, n), in place allowed.
 *
 * Each layer is an epilogue (src/kernels/act.h): the activation and its parameter. Right
 * after a Dense the session never runs the layer: the Dense applies the same epilogue to
 * its output (model.c fuses them, dense.c applies them). Elsewhere forward applies it with
 * tmlp_act_apply on the vector unit of the model's kernel (remembered by prepare), which
 * is also what the Dense uses, so fused and unfused give the same values.
 *
 * Next: relu.c (its own branch-free loop, and the epilogue every kernel has always had).
 */
#include "layer.h"

#include "internal.h"

#include <string.h>

typedef struct activation {
    tmlp_layer base;   /* must be first */
    tmlp_epilogue ep;  /* what this layer computes */
    tmlp_kernel kernel; /* whose vector unit runs it (from prepare) */
} activation;

static void activation_forward(const tmlp_layer *l, const float *x, float *y, int64_t batch,
                               float *scratch)
{
    (void)scratch;
    const activation *a = (const activation *)l;
    const int64_t n = batch * l->out_width;
    if (y != x) memcpy(y, x, (size_t)n * sizeof(float));
    tmlp_act_apply(a->kernel, a->ep, y, n);
}

static tmlp_epilogue activation_epilogue(const tmlp_layer *l)
{
    return ((const activation *)l)->ep;
}

static float activation_param(const tmlp_layer *l) { return ((const activation *)l)->ep.alpha; }


/* The scalar formula's operations per element, a transcendental function counted as one. */
static int64_t activation_flops(const tmlp_layer *l)
{
    static const int64_t per_act[] = {
        [TMLP_ACT_NONE] = 0, [TMLP_ACT_RELU] = 1, [TMLP_ACT_LEAKY_RELU] = 2,
        [TMLP_ACT_GELU] = 5, [TMLP_ACT_GELU_TANH] = 9, [TMLP_ACT_TANH] = 1,
        [TMLP_ACT_SIGMOID] = 4, [TMLP_ACT_SILU] = 5,
    };
    return per_act[((const activation *)l)->ep.act] * l->out_width;
}

static tmlp_status activation_prepare(tmlp_layer *l, const tmlp_allocator *al, tmlp_kernel k,
                                      int forced, tmlp_precision prec, tmlp_error *err)
{
    (void)al, (void)forced, (void)prec, (void)err;
    ((activation *)l)->kernel = k;
    return TMLP_OK;
}

/* One table per kind: they differ in name, kind and (leaky_relu) the parameter. */
#define ACTIVATION_OPS(var, NAME, KIND, PARAM)                                                   \
    static const tmlp_layer_ops var = {                                                         \
        .name = NAME,                                                                           \
        .kind = KIND,                                                                           \
        .in_place = true,                                                                       \
        .forward = activation_forward,                                                          \
        .epilogue = activation_epilogue,                                                        \
        .param = PARAM,                                                                         \
        .param_count = tmlp_layer_plain_param_count,                                                  \
        .flops_per_sample = activation_flops,                                                   \
        .prepare = activation_prepare,                                                          \
        .destroy = tmlp_layer_plain_destroy,                                                          \
    }
ACTIVATION_OPS(leaky_relu_ops, "leaky_relu", TMLP_LAYER_LEAKY_RELU, activation_param);
ACTIVATION_OPS(gelu_ops, "gelu", TMLP_LAYER_GELU, NULL);
ACTIVATION_OPS(gelu_tanh_ops, "gelu_tanh", TMLP_LAYER_GELU_TANH, NULL);
ACTIVATION_OPS(tanh_ops, "tanh", TMLP_LAYER_TANH, NULL);
ACTIVATION_OPS(sigmoid_ops, "sigmoid", TMLP_LAYER_SIGMOID, NULL);
ACTIVATION_OPS(silu_ops, "silu", TMLP_LAYER_SILU, NULL);

static const tmlp_layer_ops *activation_ops_of(tmlp_act act)
{
    switch (act) {
    case TMLP_ACT_LEAKY_RELU: return &leaky_relu_ops;
    case TMLP_ACT_GELU: return &gelu_ops;
    case TMLP_ACT_GELU_TANH: return &gelu_tanh_ops;
    case TMLP_ACT_TANH: return &tanh_ops;
    case TMLP_ACT_SIGMOID: return &sigmoid_ops;
    case TMLP_ACT_SILU: return &silu_ops;
    default: return NULL; /* NONE is no layer; RELU is relu.c */
    }
}

tmlp_status tmlp_activation_create(const tmlp_allocator *a, int64_t width, tmlp_epilogue ep,
                                   tmlp_layer **out_layer, tmlp_error *err)
{
    const tmlp_layer_ops *ops = activation_ops_of(ep.act);
    if (!ops) return tmlp_error_set(err, TMLP_ERR_ARG, "activation: no layer for activation %d", (int)ep.act);
    if (width < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: width %lld < 1", ops->name, (long long)width);
    activation *l = tmlp_mem_alloc(a, sizeof *l);
    if (!l) return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: out of memory for the layer", ops->name);
    l->base.ops = ops;
    l->base.in_width = l->base.out_width = width;
    l->ep = ep;
    if (ep.act != TMLP_ACT_LEAKY_RELU) l->ep.alpha = 0.0f;
    l->kernel = TMLP_KERNEL_SCALAR;
    *out_layer = &l->base;
    return TMLP_OK;
}
