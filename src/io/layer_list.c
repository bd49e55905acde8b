/* layer_list.c — the "tinymlp.layers" grammar (see layer_list.h): the table of kinds the
 * file format knows, and the parser. tmlp_model_layers_string (src/layers/model.c) writes
 * the same grammar from each layer's name and number.
 */
#include "io/layer_list.h"

#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on the number of modules in a layer list: far beyond any real MLP, low
 * enough that module indices and name buffers stay small. */
#define LAYER_LIST_MAX_MODULES 100000

/* An entry is quoted in messages up to this many characters. */
#define SHOWN 40

static const char *const LINEAR_TENSORS[] = {"weight", "bias", NULL};
static const char *const LAYERNORM_TENSORS[] = {"weight", "bias", NULL};
static const char *const BATCHNORM_TENSORS[] = {"weight", "bias", "running_mean", "running_var",
                                                "num_batches_tracked", NULL};

static const tmlp_layer_kind_info KINDS[] = {
    {"linear", TMLP_LAYER_DENSE, NULL, 0.0f, LINEAR_TENSORS},
    {"relu", TMLP_LAYER_RELU, NULL, 0.0f, NULL},
    {"leaky_relu", TMLP_LAYER_LEAKY_RELU, "SLOPE", 0.01f, NULL},
    {"gelu", TMLP_LAYER_GELU, NULL, 0.0f, NULL},
    {"gelu_tanh", TMLP_LAYER_GELU_TANH, NULL, 0.0f, NULL},
    {"tanh", TMLP_LAYER_TANH, NULL, 0.0f, NULL},
    {"sigmoid", TMLP_LAYER_SIGMOID, NULL, 0.0f, NULL},
    {"silu", TMLP_LAYER_SILU, NULL, 0.0f, NULL},
    {"softmax", TMLP_LAYER_SOFTMAX, NULL, 0.0f, NULL},
    {"log_softmax", TMLP_LAYER_LOG_SOFTMAX, NULL, 0.0f, NULL},
    {"layernorm", TMLP_LAYER_LAYERNORM, "EPS", 1e-5f, LAYERNORM_TENSORS},
    {"batchnorm", TMLP_LAYER_BATCHNORM, "EPS", 1e-5f, BATCHNORM_TENSORS},
    {"dropout", TMLP_LAYER_DROPOUT, NULL, 0.0f, NULL},
    {"identity", TMLP_LAYER_IDENTITY, NULL, 0.0f, NULL},
};
#define N_KINDS (sizeof KINDS / sizeof *KINDS)

const tmlp_layer_kind_info *tmlp_layer_kind_info_of(tmlp_layer_kind k)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (KINDS[i].kind == k) return &KINDS[i];
    return NULL;
}

/* Next comma-separated token of `s` starting at *pos, with spaces and tabs trimmed; an
 * empty token ("linear,,relu" or a trailing comma) is returned as length 0. *pos becomes
 * SIZE_MAX after the last token. Returns 0 when there are no more tokens. */
static int layers_next(const char *s, size_t *pos, const char **tok, size_t *len)
{
    if (*pos == SIZE_MAX) return 0;
    size_t p = *pos, start = p;
    while (s[p] != '\0' && s[p] != ',') p++;
    size_t end = p;
    while (start < end && (s[start] == ' ' || s[start] == '\t')) start++;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    *tok = s + start;
    *len = end - start;
    *pos = s[p] == ',' ? p + 1 : SIZE_MAX;
    return 1;
}

/* s[0..*len) without trailing spaces and tabs. */
static void trim_right(const char *s, size_t *len)
{
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t')) (*len)--;
}

static const tmlp_layer_kind_info *kind_named(const char *name, size_t len)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strlen(KINDS[i].name) == len && memcmp(KINDS[i].name, name, len) == 0) return &KINDS[i];
    return NULL;
}

static tmlp_status unknown_name(size_t i, const char *tok, size_t len, tmlp_error *err)
{
    char known[256] = "";
    for (size_t k = 0; k < N_KINDS; k++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", KINDS[k].name);
    return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: unknown layer `%.*s`%s (known: %s)", i,
                          len > SHOWN ? SHOWN : (int)len, tok, len > SHOWN ? "..." : "", known);
}

/* The number between the parentheses of entry i: the whole text a finite float, in the
 * kind's range. */
static tmlp_status parse_number(size_t i, const char *tok, size_t len, const char *num, size_t num_len,
                                const tmlp_layer_kind_info *k, float *out, tmlp_error *err)
{
    const int shown = len > SHOWN ? SHOWN : (int)len;
    char buf[64];
    if (num_len == 0)
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: `%.*s`: empty parentheses (write %s, or %s(%s))",
                              i, shown, tok, k->name, k->name, k->param_name);
    char *end = NULL;
    float v = 0.0f;
    if (num_len < sizeof buf) {
        memcpy(buf, num, num_len);
        buf[num_len] = '\0';
        v = strtof(buf, &end);
    }
    if (!end || end != buf + num_len || !isfinite(v))
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: `%.*s`: %s `%.*s` is not a finite number", i,
                              shown, tok, k->param_name, num_len > SHOWN ? SHOWN : (int)num_len, num);
    if ((k->kind == TMLP_LAYER_LAYERNORM && !(v > 0.0f)) || (k->kind == TMLP_LAYER_BATCHNORM && !(v >= 0.0f)))
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: `%.*s`: EPS %g, it must be %s", i, shown, tok,
                              (double)v, k->kind == TMLP_LAYER_LAYERNORM ? "> 0" : ">= 0");
    *out = v;
    return TMLP_OK;
}

/* One entry, "name" or "name(number)", already trimmed. */
static tmlp_status parse_entry(size_t i, const char *tok, size_t len, tmlp_layer_spec *out,
                               tmlp_error *err)
{
    if (len == 0) return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: empty name in the layer list", i);
    const char *open = memchr(tok, '(', len);
    size_t name_len = open ? (size_t)(open - tok) : len;
    trim_right(tok, &name_len);
    const tmlp_layer_kind_info *k = kind_named(tok, name_len);
    if (!k) return unknown_name(i, tok, open ? name_len : len, err);
    out->kind = k->kind;
    out->param = k->param_name ? k->param_default : 0.0f;
    if (!open) return TMLP_OK;
    const int shown = len > SHOWN ? SHOWN : (int)len;
    if (tok[len - 1] != ')')
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: `%.*s`: no closing `)`", i, shown, tok);
    if (!k->param_name)
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer %zu: `%.*s`: %s takes no number", i, shown, tok, k->name);
    const char *num = open + 1;
    size_t num_len = (size_t)(tok + len - 1 - num);
    while (num_len > 0 && (*num == ' ' || *num == '\t')) num++, num_len--;
    trim_right(num, &num_len);
    return parse_number(i, tok, len, num, num_len, k, &out->param, err);
}

tmlp_status tmlp_layer_list_parse(const char *layers, const tmlp_allocator *alloc,
                                  tmlp_layer_spec **specs_out, int *n_out, tmlp_error *err)
{
    size_t n = 0, pos = 0, len;
    const char *tok;
    while (layers_next(layers, &pos, &tok, &len)) {
        if (++n > LAYER_LIST_MAX_MODULES)
            return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer list has more than %d modules",
                                  LAYER_LIST_MAX_MODULES);
    }
    if (layers[strspn(layers, " \t")] == '\0')
        return tmlp_error_set(err, TMLP_ERR_LAYERS, "layer list is empty");

    tmlp_layer_spec *specs = tmlp_mem_calloc(alloc, n, sizeof *specs);
    if (!specs)
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory for a layer list of %zu modules", n);
    pos = 0;
    for (size_t i = 0; layers_next(layers, &pos, &tok, &len); i++) {
        tmlp_status st = parse_entry(i, tok, len, &specs[i], err);
        if (st != TMLP_OK) {
            tmlp_mem_free(alloc, specs);
            return st;
        }
    }
    *specs_out = specs;
    *n_out = (int)n;
    return TMLP_OK;
}
