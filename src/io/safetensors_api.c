/* safetensors_api.c — the public reader of tinymlp/safetensors.h: thin wrappers over the
 * private parser (safetensors.c), so users' tensors get the same validation as models.
 *
 * A tmlp_safetensors is the parser's tmlp_st_file: the public type is only declared, and
 * these wrappers convert the pointer back before using it.
 */
#include "io/safetensors.h"
#include "tinymlp/safetensors.h"
#include "internal.h"

#include <string.h>

static const tmlp_st_file *file_of(const tmlp_safetensors *f) { return (const tmlp_st_file *)f; }

tmlp_status tmlp_safetensors_open(const char *path, const tmlp_allocator *alloc,
                                  tmlp_safetensors **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_safetensors_open: out is NULL");
    *out = NULL;
    if (!path) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_safetensors_open: path is NULL");
    tmlp_st_file *f = NULL;
    tmlp_status st = tmlp_st_read_named(path, alloc, &f, err);
    if (st != TMLP_OK) return st;
    *out = (tmlp_safetensors *)f;
    return TMLP_OK;
}

int64_t tmlp_safetensors_count(const tmlp_safetensors *f) { return f ? file_of(f)->n_tensors : 0; }

static void fill_info(const tmlp_st_tensor *t, tmlp_safetensors_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->dtype = tmlp_st_dtype_name(t->dtype);
    out->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) out->shape[d] = (int64_t)t->shape[d];
    out->numel = (int64_t)t->numel;
    out->nbytes = (size_t)(t->end - t->begin);
}

tmlp_status tmlp_safetensors_info_at(const tmlp_safetensors *f, int64_t i,
                                     tmlp_safetensors_info *out, tmlp_error *err)
{
    if (!f || !out)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_safetensors_info_at: %s is NULL",
                              f ? "out" : "file");
    if (i < 0 || i >= file_of(f)->n_tensors)
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "tmlp_safetensors_info_at: index %lld, the file has %lld tensors",
                              (long long)i, (long long)file_of(f)->n_tensors);
    fill_info(&file_of(f)->tensors[i], out);
    return TMLP_OK;
}

/* The tensor `name` or an error naming it. */
static tmlp_status lookup(const tmlp_safetensors *f, const char *name, const char *fn,
                          const tmlp_st_tensor **out, tmlp_error *err)
{
    if (!f || !name) return tmlp_error_set(err, TMLP_ERR_ARG, "%s: %s is NULL", fn, f ? "name" : "file");
    *out = tmlp_st_find(file_of(f), name);
    if (!*out)
        return tmlp_error_set(err, TMLP_ERR_MISSING_TENSOR, "%s: no tensor `%.200s` in the file", fn,
                              name);
    return TMLP_OK;
}

tmlp_status tmlp_safetensors_find(const tmlp_safetensors *f, const char *name,
                                  tmlp_safetensors_info *out, tmlp_error *err)
{
    const tmlp_st_tensor *t;
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_safetensors_find: out is NULL");
    tmlp_status st = lookup(f, name, "tmlp_safetensors_find", &t, err);
    if (st == TMLP_OK) fill_info(t, out);
    return st;
}

tmlp_status tmlp_safetensors_read_f32(const tmlp_safetensors *f, const char *name, float *dst,
                                      int64_t capacity, tmlp_error *err)
{
    const tmlp_st_tensor *t;
    tmlp_status st = lookup(f, name, "tmlp_safetensors_read_f32", &t, err);
    if (st != TMLP_OK) return st;
    if (capacity < 0 || (uint64_t)capacity < t->numel)
        return tmlp_error_set(err, TMLP_ERR_SHAPE,
                              "tmlp_safetensors_read_f32: tensor `%.200s` has %llu elements, the "
                              "buffer holds %lld", name, (unsigned long long)t->numel,
                              (long long)capacity);
    if (!dst && t->numel)
        return tmlp_error_set(err, TMLP_ERR_ARG, "tmlp_safetensors_read_f32: dst is NULL");
    return tmlp_st_to_f32(t, dst, err);
}

const char *tmlp_safetensors_metadata(const tmlp_safetensors *f, const char *key)
{
    return f && key ? tmlp_st_meta_get(file_of(f), key) : NULL;
}

void tmlp_safetensors_close(tmlp_safetensors *f) { tmlp_st_free((tmlp_st_file *)f); }
