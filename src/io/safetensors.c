/* safetensors.c — read, validate and write the safetensors container.
 *
 * A file is three parts:
 *
 *     [u64 little-endian N] [N bytes of UTF-8 JSON header] [data block]
 *
 * The header maps tensor names to {"dtype", "shape", "data_offsets": [BEGIN, END]};
 * offsets count from the start of the data block, END is one past the last byte, and
 * data is row-major little-endian with no strides. An optional "__metadata__" object maps
 * strings to strings (tinymlp keeps its layer list and preprocessing there).
 *
 * tmlp_st_parse checks the rules of docs/formats.md (safetensors) in the reference
 * reader's order, one tmlp_status per rule, so a test can tell which rule fired:
 *
 *   1 size < 8                                   TMLP_ERR_HEADER_TOO_SMALL
 *   2 N > 100,000,000                            TMLP_ERR_HEADER_TOO_LARGE
 *   3 8 + N overflows or exceeds the file        TMLP_ERR_HEADER_LENGTH
 *   4 header not UTF-8                           TMLP_ERR_HEADER_UTF8
 *   5 header not a JSON object of the right shape TMLP_ERR_HEADER_JSON (then duplicate
 *     tensor names: TMLP_ERR_DUPLICATE)
 *   6 offsets sorted by (begin, end) must tile the data block from 0 with no gap or
 *     overlap, end >= begin                      TMLP_ERR_OFFSET
 *   7 numel or numel * bits overflows 64 bits    TMLP_ERR_OVERFLOW
 *   8 numel * bits not a multiple of 8           TMLP_ERR_MISALIGNED
 *   9 END - BEGIN != numel * bits / 8            TMLP_ERR_TENSOR_INFO
 *  10 8 + N + last END != file size              TMLP_ERR_INCOMPLETE
 *
 * Each rule is one pass over all tensors, so when a file breaks several rules the one
 * reported is the first in this list.
 *
 * Numbers: cJSON stores doubles. Every number we use must be finite, >= 0 and integral;
 * data_offsets must be <= 2^53 (exactly representable) or the header is invalid. A shape
 * dimension above 2^53 is a valid JSON integer that no real tensor can have: it is
 * reported by rule 7 as an overflow (the reference's cases [2, 2^64-2] and [2, 2^63-1]
 * expect "overflow"), even in the corner case of another dimension being 0.
 * Leniency inherited from cJSON and kept on purpose: "1.0" and "1e2" count as the
 * integers 1 and 100. Numbers with leading zeros ("01"), a bare "1." and raw control
 * characters inside strings are rejected by our own lexical pass (cJSON accepts them), and
 * so is the escape \u0000 (a C string cannot hold it).
 *
 * Memory: everything the file object owns (bytes, tables, names, metadata strings) comes
 * from the caller's tmlp_allocator, so an out-of-memory test can fail each allocation.
 * cJSON's temporary parse tree is allocated by cJSON with libc malloc (its only hook,
 * cJSON_InitHooks, is global state we will not touch); it is freed before we return, and
 * a cJSON allocation failure is reported as TMLP_ERR_HEADER_JSON because cJSON cannot tell
 * it apart from bad JSON.
 *
 * Next: src/io/model_io.c builds a model from these tensors; src/io/dataset.c reads
 * (x, y) data sets.
 */
#include "safetensors.h"

#include "tinymlp/file.h"
#include "file_read.h"
#include "internal.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER 100000000ULL      /* rule 2 */
#define ST_MAX_EXACT 9007199254740992.0 /* 2^53: largest integer a double holds exactly */
#define ST_NAME_FMT "%.80s"             /* names in messages, cut so the numbers still fit */

/* ---- dtypes ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int bits;
} st_dtypes[] = {
    [TMLP_ST_BOOL] = {"BOOL", 8},       [TMLP_ST_U8] = {"U8", 8},
    [TMLP_ST_I8] = {"I8", 8},           [TMLP_ST_I16] = {"I16", 16},
    [TMLP_ST_U16] = {"U16", 16},        [TMLP_ST_F16] = {"F16", 16},
    [TMLP_ST_BF16] = {"BF16", 16},      [TMLP_ST_I32] = {"I32", 32},
    [TMLP_ST_U32] = {"U32", 32},        [TMLP_ST_F32] = {"F32", 32},
    [TMLP_ST_F64] = {"F64", 64},        [TMLP_ST_I64] = {"I64", 64},
    [TMLP_ST_U64] = {"U64", 64},        [TMLP_ST_C64] = {"C64", 64},
    [TMLP_ST_F4] = {"F4", 4},           [TMLP_ST_F6_E2M3] = {"F6_E2M3", 6},
    [TMLP_ST_F6_E3M2] = {"F6_E3M2", 6}, [TMLP_ST_F8_E5M2] = {"F8_E5M2", 8},
    [TMLP_ST_F8_E4M3] = {"F8_E4M3", 8}, [TMLP_ST_F8_E8M0] = {"F8_E8M0", 8},
};
#define ST_N_DTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

int tmlp_st_dtype_bits(tmlp_st_dtype d)
{
    return ((int)d >= 0 && (int)d < ST_N_DTYPES) ? st_dtypes[d].bits : 0;
}

const char *tmlp_st_dtype_name(tmlp_st_dtype d)
{
    return ((int)d >= 0 && (int)d < ST_N_DTYPES) ? st_dtypes[d].name : "?";
}

/* Exact, case-sensitive lookup ("F32" -> TMLP_ST_F32); -1 when unknown. */
static int st_dtype_from_name(const char *s)
{
    for (int i = 0; i < ST_N_DTYPES; i++)
        if (strcmp(s, st_dtypes[i].name) == 0) return i;
    return -1;
}

/* ---- UTF-8 (rule 4) ------------------------------------------------------------------
 * Well-formed UTF-8 per RFC 3629 / Unicode table 3-7: no overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), no UTF-16 surrogates (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF).
 * Returns the offset of the first bad byte, or `n` when all is well. */
static size_t st_utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else return i;
        if (n - i < len) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += len;
    }
    return n;
}

/* ---- strict JSON lexing (part of rule 5) -----------------------------------------------
 * cJSON has already checked the structure; this pass rejects what cJSON accepts but JSON
 * (RFC 8259) does not: raw control characters inside strings and numbers that do not
 * follow  -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?  such as "01" or "1.".
 * It also refuses the escape \u0000, which is JSON but would cut a name short in C.
 * Returns the offset of the first offence, or `n`. */
static int st_is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t st_json_lex_check(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if ((unsigned char)s[i] < 0x20) return i;
                /* \u0000 is valid JSON, but a C string would silently end there. */
                if (s[i] == '\\' && n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0) return i;
                if (s[i] == '\\') i++; /* skip the escaped char; cJSON checked escapes */
            }
            i++;
        } else if (c == '-' || st_is_digit(c)) {
            size_t start = i;
            if (s[i] == '-') i++;
            if (i < n && s[i] == '0') i++;
            else if (i < n && st_is_digit(s[i])) while (i < n && st_is_digit(s[i])) i++;
            else return start;
            if (i < n && s[i] == '.') {
                i++;
                if (i >= n || !st_is_digit(s[i])) return start;
                while (i < n && st_is_digit(s[i])) i++;
            }
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-')) i++;
                if (i >= n || !st_is_digit(s[i])) return start;
                while (i < n && st_is_digit(s[i])) i++;
            }
            if (i < n && (st_is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                          s[i] == '+' || s[i] == '-'))
                return start;
        } else {
            i++;
        }
    }
    return n;
}

static int st_is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A JSON number usable as a size: finite, >= 0, integral. *out gets its value when it is
 * also <= 2^53; *big is set when it is integral but larger (only shapes tolerate that). */
static int st_json_uint(const cJSON *item, uint64_t *out, int *big)
{
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!isfinite(v) || v < 0 || floor(v) != v) return 0;
    *big = v > ST_MAX_EXACT;
    *out = *big ? UINT64_MAX : (uint64_t)v;
    return 1;
}

/* ---- the file object ---------------------------------------------------------------- */

void tmlp_st_free(tmlp_st_file *f)
{
    if (!f) return;
    tmlp_allocator a = f->alloc;
    if (f->tensors)
        for (int64_t i = 0; i < f->n_tensors; i++) tmlp_mem_free(&a, f->tensors[i].name);
    if (f->meta)
        for (int64_t i = 0; i < f->n_meta; i++) {
            tmlp_mem_free(&a, f->meta[i].key);
            tmlp_mem_free(&a, f->meta[i].value);
        }
    tmlp_mem_free(&a, f->tensors);
    tmlp_mem_free(&a, f->meta);
    tmlp_mem_free(&a, f->bytes);
    tmlp_mem_free(&a, f);
}

const tmlp_st_tensor *tmlp_st_find(const tmlp_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    for (int64_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *tmlp_st_meta_get(const tmlp_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (int64_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

/* ---- rules 1-3 on the 8-byte prefix (shared with tmlp_st_read, which runs them before
 * allocating anything) --------------------------------------------------------------- */

static uint64_t st_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static tmlp_status st_check_prefix(const unsigned char *bytes, size_t size, uint64_t *n_out,
                                   tmlp_error *err)
{
    if (size < 8)
        return tmlp_error_set(err, TMLP_ERR_HEADER_TOO_SMALL,
                              "safetensors: file is %zu bytes, shorter than the 8-byte header "
                              "length", size);
    uint64_t n = st_le64(bytes);
    if (n > SIZE_MAX || n > ST_MAX_HEADER)
        return tmlp_error_set(err, TMLP_ERR_HEADER_TOO_LARGE,
                              "safetensors: header length %llu exceeds the limit of %llu bytes",
                              (unsigned long long)n, ST_MAX_HEADER);
    if ((uint64_t)size - 8 < n)
        return tmlp_error_set(err, TMLP_ERR_HEADER_LENGTH,
                              "safetensors: header length %llu needs %llu bytes but the file has "
                              "%zu", (unsigned long long)n, (unsigned long long)(n + 8), size);
    *n_out = n;
    return TMLP_OK;
}

/* ---- rule 5: the JSON header ---------------------------------------------------------- */

/* Parse state; everything in it is released by st_parse_cleanup. */
typedef struct st_parse {
    const tmlp_allocator *alloc;
    tmlp_st_file *f;
    char *json;       /* NUL-terminated copy of the header */
    cJSON *root;
    int64_t *order;   /* index scratch for sorting (metadata keys, names, offsets) + merge buffer */
    unsigned char *big; /* per tensor: a shape dimension was > 2^53 */
} st_parse;

static void st_parse_cleanup(st_parse *p)
{
    cJSON_Delete(p->root);
    tmlp_mem_free(p->alloc, p->json);
    tmlp_mem_free(p->alloc, p->order);
    tmlp_mem_free(p->alloc, p->big);
}

static tmlp_status st_nomem(tmlp_error *err, const char *what)
{
    return tmlp_error_set(err, TMLP_ERR_NOMEM, "safetensors: out of memory (%s)", what);
}

static tmlp_status st_read_metadata(st_parse *p, const cJSON *obj, tmlp_error *err)
{
    tmlp_st_file *f = p->f;
    if (!cJSON_IsObject(obj)) {
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: __metadata__ must be an object of strings");
    }
    int64_t n = 0;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            /* A tensor entry under this name is the usual way to get here: say so. */
            if (cJSON_GetObjectItemCaseSensitive(obj, "dtype") ||
                cJSON_GetObjectItemCaseSensitive(obj, "data_offsets"))
                return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                      "safetensors: a tensor may not be named __metadata__");
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: __metadata__ value of `" ST_NAME_FMT
                                  "` is not a string", it->string ? it->string : "");
        }
        n++;
    }
    f->meta = tmlp_mem_calloc(p->alloc, (size_t)(n ? n : 1), sizeof *f->meta);
    if (!f->meta) return st_nomem(err, "metadata table");
    for (const cJSON *it = obj->child; it; it = it->next) {
        tmlp_st_meta *m = &f->meta[f->n_meta];
        m->key = tmlp_mem_strdup(p->alloc, it->string);
        m->value = m->key ? tmlp_mem_strdup(p->alloc, it->valuestring) : NULL;
        if (m->key) f->n_meta++; /* counted once the key exists so free() sees it */
        if (!m->key || !m->value) return st_nomem(err, "metadata string");
    }
    return TMLP_OK;
}

static tmlp_status st_read_tensor(st_parse *p, const cJSON *e, int64_t idx, tmlp_error *err)
{
    tmlp_st_tensor *t = &p->f->tensors[idx];
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "` is not an object", name);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offs ? "data_offsets" : NULL;
    if (missing)
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "` has no `%s`", name, missing);

    if (!cJSON_IsString(dtype))
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "`: dtype is not a string", name);
    int d = st_dtype_from_name(dtype->valuestring);
    if (d < 0)
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "`: unknown dtype `%.16s`", name,
                              dtype->valuestring);
    t->dtype = (tmlp_st_dtype)d;

    if (!cJSON_IsArray(shape))
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "`: shape is not an array", name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > TMLP_ST_MAX_DIMS)
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "safetensors: tensor `" ST_NAME_FMT "` has rank %d; at most %d "
                              "dimensions are supported", name, rank, TMLP_ST_MAX_DIMS);
    t->ndim = rank;
    int k = 0;
    for (const cJSON *it = shape->child; it; it = it->next, k++) {
        int big = 0;
        if (!st_json_uint(it, &t->shape[k], &big))
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: tensor `" ST_NAME_FMT "`: shape[%d] is not a "
                                  "non-negative integer", name, k);
        if (big) p->big[idx] = 1;
    }

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: tensor `" ST_NAME_FMT "`: data_offsets must be "
                              "exactly two numbers", name);
    uint64_t be[2];
    k = 0;
    for (const cJSON *it = offs->child; it; it = it->next, k++) {
        int big = 0;
        if (!st_json_uint(it, &be[k], &big) || big)
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: tensor `" ST_NAME_FMT "`: data_offsets[%d] is not "
                                  "an integer in [0, 2^53]", name, k);
    }
    t->begin = be[0];
    t->end = be[1];

    t->name = tmlp_mem_strdup(p->alloc, name);
    if (!t->name) return st_nomem(err, "tensor name");
    return TMLP_OK;
}

typedef int (*st_cmp_fn)(int64_t a, int64_t b, const void *ctx);

static int st_cmp_name(int64_t a, int64_t b, const void *ctx)
{
    const tmlp_st_tensor *ts = ctx;
    return strcmp(ts[a].name, ts[b].name);
}

static int st_cmp_meta_key(int64_t a, int64_t b, const void *ctx)
{
    const tmlp_st_meta *m = ctx;
    return strcmp(m[a].key, m[b].key);
}

/* qsort has no context argument in C11: sort indices with a small merge sort instead,
 * O(n log n) and stable, so duplicate detection and offset ordering stay fast on headers
 * with millions of entries. */
static void st_sort(int64_t *v, int64_t *tmp, int64_t n, const void *ctx, st_cmp_fn cmp)
{
    if (n < 2) return;
    int64_t h = n / 2;
    st_sort(v, tmp, h, ctx, cmp);
    st_sort(v + h, tmp, n - h, ctx, cmp);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp(v[j], v[i], ctx) < 0 ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, (size_t)n * sizeof *v);
}

static int st_cmp_offsets(int64_t a, int64_t b, const void *ctx)
{
    const tmlp_st_tensor *ts = ctx;
    const tmlp_st_tensor *x = &ts[a], *y = &ts[b];
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static tmlp_status st_read_header(st_parse *p, const unsigned char *hdr, size_t n,
                                  tmlp_error *err)
{
    tmlp_st_file *f = p->f;
    for (size_t i = 0; i < n; i++)
        if (hdr[i] == 0)
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: NUL byte in the header at offset %zu", i);
    p->json = tmlp_mem_alloc(p->alloc, n + 1);
    if (!p->json) return st_nomem(err, "header copy");
    memcpy(p->json, hdr, n);
    p->json[n] = '\0';

    const char *end = NULL;
    p->root = cJSON_ParseWithLengthOpts(p->json, n, &end, 0);
    if (!p->root) {
        size_t at = (end && end >= p->json && end <= p->json + n) ? (size_t)(end - p->json) : 0;
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: header is not valid JSON (near byte %zu of %zu)", at,
                              n);
    }
    for (const char *q = end; q < p->json + n; q++)
        if (!st_is_json_space(*q))
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: trailing characters after the JSON header at "
                                  "byte %zu", (size_t)(q - p->json));
    size_t bad = st_json_lex_check(p->json, n);
    if (bad != n)
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: invalid JSON token at header byte %zu", bad);
    if (!cJSON_IsObject(p->root))
        return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                              "safetensors: header is not a JSON object");

    int64_t n_tensors = 0;
    const cJSON *meta = NULL;
    for (const cJSON *it = p->root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (meta) {
                if (cJSON_IsObject(it) && (cJSON_GetObjectItemCaseSensitive(it, "dtype") ||
                                           cJSON_GetObjectItemCaseSensitive(it, "data_offsets")))
                    return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                          "safetensors: a tensor may not be named __metadata__");
                return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                      "safetensors: __metadata__ appears twice");
            }
            meta = it;
        } else {
            n_tensors++;
        }
    }
    if (meta) {
        tmlp_status s = st_read_metadata(p, meta, err);
        if (s != TMLP_OK) return s;
    }

    size_t cnt = (size_t)(n_tensors ? n_tensors : 1);
    size_t n_order = cnt > (size_t)f->n_meta ? cnt : (size_t)f->n_meta, order_bytes;
    f->tensors = tmlp_mem_calloc(p->alloc, cnt, sizeof *f->tensors);
    p->big = tmlp_mem_calloc(p->alloc, cnt, 1);
    if (!tmlp_size_mul(n_order, 2 * sizeof *p->order, &order_bytes)) return st_nomem(err, "order");
    p->order = tmlp_mem_alloc(p->alloc, order_bytes);
    if (!f->tensors || !p->big || !p->order) return st_nomem(err, "tensor table");

    /* Duplicate metadata keys: sort indices by key and compare neighbours. */
    for (int64_t k = 0; k < f->n_meta; k++) p->order[k] = k;
    st_sort(p->order, p->order + f->n_meta, f->n_meta, f->meta, st_cmp_meta_key);
    for (int64_t k = 1; k < f->n_meta; k++)
        if (strcmp(f->meta[p->order[k - 1]].key, f->meta[p->order[k]].key) == 0)
            return tmlp_error_set(err, TMLP_ERR_HEADER_JSON,
                                  "safetensors: __metadata__ key `" ST_NAME_FMT "` appears twice",
                                  f->meta[p->order[k]].key);

    int64_t i = 0;
    for (const cJSON *it = p->root->child; it; it = it->next) {
        if (it == meta) continue;
        tmlp_status s = st_read_tensor(p, it, i, err);
        if (s != TMLP_OK) return s;
        f->n_tensors = ++i; /* the name now exists: tmlp_st_free must see it */
    }

    /* Duplicate names: sort indices by name and compare neighbours. */
    for (int64_t k = 0; k < n_tensors; k++) p->order[k] = k;
    st_sort(p->order, p->order + n_tensors, n_tensors, f->tensors, st_cmp_name);
    for (int64_t k = 1; k < n_tensors; k++) {
        const tmlp_st_tensor *a = &f->tensors[p->order[k - 1]], *b = &f->tensors[p->order[k]];
        if (strcmp(a->name, b->name) == 0)
            return tmlp_error_set(err, TMLP_ERR_DUPLICATE,
                                  "safetensors: tensor `" ST_NAME_FMT "` appears twice in the "
                                  "header", a->name);
    }
    return TMLP_OK;
}

/* ---- rules 6-10 --------------------------------------------------------------------- */

static tmlp_status st_validate(st_parse *p, uint64_t header_n, size_t size, tmlp_error *err)
{
    tmlp_st_file *f = p->f;
    int64_t n = f->n_tensors;
    int64_t *order = p->order;

    /* 6: offsets tile [0, last end) in (begin, end) order. */
    for (int64_t k = 0; k < n; k++) order[k] = k;
    st_sort(order, order + n, n, f->tensors, st_cmp_offsets);
    uint64_t expect = 0;
    for (int64_t k = 0; k < n; k++) {
        const tmlp_st_tensor *t = &f->tensors[order[k]];
        if (t->begin != expect || t->end < t->begin)
            return tmlp_error_set(err, TMLP_ERR_OFFSET,
                                  "safetensors: tensor `" ST_NAME_FMT "`: data_offsets [%llu, %llu] "
                                  "%s (expected begin %llu)", t->name,
                                  (unsigned long long)t->begin, (unsigned long long)t->end,
                                  t->end < t->begin ? "end before begin"
                                  : t->begin > expect ? "leave a gap" : "overlap the previous tensor",
                                  (unsigned long long)expect);
        expect = t->end;
    }

    /* 7: numel and numel * bits fit in 64 bits. */
    for (int64_t k = 0; k < n; k++) {
        tmlp_st_tensor *t = &f->tensors[order[k]];
        uint64_t numel = 1, bits;
        int ovf = p->big[order[k]];
        for (int d = 0; d < t->ndim && !ovf; d++)
            ovf = __builtin_mul_overflow(numel, t->shape[d], &numel);
        if (!ovf) ovf = __builtin_mul_overflow(numel, (uint64_t)tmlp_st_dtype_bits(t->dtype), &bits);
        if (ovf)
            return tmlp_error_set(err, TMLP_ERR_OVERFLOW,
                                  "safetensors: tensor `" ST_NAME_FMT "`: element count or bit size "
                                  "of its shape overflows 64 bits", t->name);
        t->numel = numel;
    }

    /* 8: whole bytes (sub-byte dtypes such as F4 need an even element count). */
    for (int64_t k = 0; k < n; k++) {
        const tmlp_st_tensor *t = &f->tensors[order[k]];
        uint64_t bits = t->numel * (uint64_t)tmlp_st_dtype_bits(t->dtype);
        if (bits % 8 != 0)
            return tmlp_error_set(err, TMLP_ERR_MISALIGNED,
                                  "safetensors: tensor `" ST_NAME_FMT "`: %llu elements of %s are "
                                  "%llu bits, not a whole number of bytes", t->name,
                                  (unsigned long long)t->numel, tmlp_st_dtype_name(t->dtype),
                                  (unsigned long long)bits);
    }

    /* 9: the offsets span exactly the bytes the shape and dtype imply. */
    for (int64_t k = 0; k < n; k++) {
        const tmlp_st_tensor *t = &f->tensors[order[k]];
        uint64_t want = t->numel * (uint64_t)tmlp_st_dtype_bits(t->dtype) / 8;
        if (t->end - t->begin != want)
            return tmlp_error_set(err, TMLP_ERR_TENSOR_INFO,
                                  "safetensors: tensor `" ST_NAME_FMT "`: data_offsets [%llu, %llu] "
                                  "span %llu bytes but %s x %llu elements need %llu", t->name,
                                  (unsigned long long)t->begin, (unsigned long long)t->end,
                                  (unsigned long long)(t->end - t->begin),
                                  tmlp_st_dtype_name(t->dtype), (unsigned long long)t->numel,
                                  (unsigned long long)want);
    }

    /* 10: the data block ends exactly at the end of the file. `expect` <= 2^53 and
     * header_n <= 1e8, so the sum cannot overflow. */
    uint64_t total = 8 + header_n + expect;
    if (total != (uint64_t)size)
        return tmlp_error_set(err, TMLP_ERR_INCOMPLETE,
                              "safetensors: header and offsets describe %llu bytes but the file "
                              "has %zu (%s)", (unsigned long long)total, size,
                              total > size ? "truncated" : "trailing bytes");
    return TMLP_OK;
}

tmlp_status tmlp_st_parse(const unsigned char *bytes, size_t size, int take,
                          const tmlp_allocator *alloc, tmlp_st_file **out, tmlp_error *err)
{
    /* `take`: ownership of `bytes` passes to us whatever the outcome (freed on failure),
     * so callers never need to know whether parsing got far enough to adopt the buffer. */
    unsigned char *owned = take ? (unsigned char *)bytes : NULL;
    if (out) *out = NULL;
    if (!out || (!bytes && size)) {
        tmlp_mem_free(alloc, owned);
        return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors: NULL argument");
    }

    uint64_t header_n = 0;
    tmlp_status s = st_check_prefix(bytes, size, &header_n, err);
    if (s != TMLP_OK) {
        tmlp_mem_free(alloc, owned);
        return s;
    }
    const unsigned char *hdr = bytes + 8;
    size_t bad = st_utf8_check(hdr, (size_t)header_n);
    if (bad != header_n) {
        unsigned byte = hdr[bad]; /* read before `owned` (which may hold hdr) is freed */
        tmlp_mem_free(alloc, owned);
        return tmlp_error_set(err, TMLP_ERR_HEADER_UTF8,
                              "safetensors: header is not valid UTF-8 at byte %zu (0x%02x)", bad,
                              byte);
    }

    st_parse p = {0};
    p.alloc = alloc;
    p.f = tmlp_mem_calloc(alloc, 1, sizeof *p.f);
    if (!p.f) {
        tmlp_mem_free(alloc, owned);
        return st_nomem(err, "file object");
    }
    if (alloc) p.f->alloc = *alloc;

    s = st_read_header(&p, hdr, (size_t)header_n, err);
    if (s == TMLP_OK) s = st_validate(&p, header_n, size, err);
    if (s == TMLP_OK && !owned) {
        owned = tmlp_mem_alloc(alloc, size);
        if (!owned) s = st_nomem(err, "file copy");
        else memcpy(owned, bytes, size);
    }
    st_parse_cleanup(&p);
    if (s != TMLP_OK) {
        tmlp_st_free(p.f);
        tmlp_mem_free(alloc, owned);
        return s;
    }

    tmlp_st_file *f = p.f;
    f->bytes = owned;
    f->size = size;
    f->data = owned + 8 + header_n;
    for (int64_t i = 0; i < f->n_tensors; i++) f->tensors[i].data = f->data + f->tensors[i].begin;
    *out = f;
    return TMLP_OK;
}

/* ---- reading a file ------------------------------------------------------------------ */

/* Prefix a validation message with the path so the user knows which file broke which rule. */
static tmlp_status st_prefix_path(tmlp_status s, const char *path, tmlp_error *err)
{
    if (s != TMLP_OK && err) {
        char msg[TMLP_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err->message);
        tmlp_error_set(err, s, "%.100s: %s", path, msg);
    }
    return s;
}

tmlp_status tmlp_st_read_named(const char *path, const tmlp_allocator *alloc, tmlp_st_file **out,
                               tmlp_error *err)
{
    tmlp_error inner = {TMLP_OK, ""};
    tmlp_status st = tmlp_st_read(path, alloc, out, &inner);
    if (st == TMLP_OK) return TMLP_OK;
    if (path && strstr(inner.message, path)) return tmlp_error_set(err, st, "%s", inner.message);
    return tmlp_error_set(err, st, "%s: %s", path ? path : "(null)",
                          inner.message[0] ? inner.message : tmlp_status_str(st));
}

tmlp_status tmlp_st_read(const char *path, const tmlp_allocator *alloc, tmlp_st_file **out,
                         tmlp_error *err)
{
    if (out) *out = NULL;
    if (!path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors: NULL argument");

    int fd;
    size_t size;
    tmlp_status s = tmlp_file_open(path, &fd, &size, err);
    if (s != TMLP_OK) return s;

    /* Rules 1-3 from the first 8 bytes, before allocating the whole file. */
    unsigned char prefix[8];
    size_t plen = size < 8 ? size : 8;
    int e = tmlp_file_pread(fd, prefix, plen, 0);
    if (e != 0) {
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: read failed: %s", path,
                              e > 0 ? strerror(e) : "unexpected end of file");
    }
    uint64_t header_n;
    s = st_check_prefix(prefix, plen < 8 ? plen : size, &header_n, err);
    if (s != TMLP_OK) {
        close(fd);
        return st_prefix_path(s, path, err);
    }

    unsigned char *buf = tmlp_mem_alloc(alloc, size);
    if (!buf) {
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    e = tmlp_file_pread(fd, buf, size, 0);
    close(fd);
    if (e != 0) {
        tmlp_mem_free(alloc, buf);
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: read failed: %s", path,
                              e > 0 ? strerror(e) : "file shrank while reading");
    }
    s = tmlp_st_parse(buf, size, 1, alloc, out, err);
    return st_prefix_path(s, path, err);
}

/* ---- conversion to F32 --------------------------------------------------------------- */

/* IEEE binary16 -> binary32, exact for every input: normals re-bias the exponent (15 ->
 * 127), subnormals (exponent 0) are normalised by shifting the mantissa up, inf and NaN
 * keep their payload. */
static uint32_t st_f16_to_f32_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return sign;
        uint32_t e = 127 - 15 + 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        return sign | (e << 23) | ((mant & 0x3ffu) << 13);
    }
    if (exp == 31) return sign | 0x7f800000u | (mant << 13);
    return sign | ((exp + 127 - 15) << 23) | (mant << 13);
}

static float st_bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

tmlp_status tmlp_st_to_f32(const tmlp_st_tensor *t, float *dst, tmlp_error *err)
{
    if (!t || (!dst && t->numel) || (!t->data && t->numel))
        return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors: NULL argument");
    const unsigned char *s = t->data;
    uint64_t n = t->numel;
    switch (t->dtype) {
    case TMLP_ST_F32:
        /* Bytes are little-endian; assemble the word so the host's order does not matter
         * and the source may be unaligned. */
        for (uint64_t i = 0; i < n; i++, s += 4)
            dst[i] = st_bits_to_f32((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                                    (uint32_t)s[3] << 24);
        return TMLP_OK;
    case TMLP_ST_F16:
        for (uint64_t i = 0; i < n; i++, s += 2)
            dst[i] = st_bits_to_f32(st_f16_to_f32_bits((uint16_t)(s[0] | s[1] << 8)));
        return TMLP_OK;
    case TMLP_ST_BF16:
        /* bfloat16 is the top half of a binary32. */
        for (uint64_t i = 0; i < n; i++, s += 2)
            dst[i] = st_bits_to_f32(((uint32_t)s[0] | (uint32_t)s[1] << 8) << 16);
        return TMLP_OK;
    case TMLP_ST_U8:
        for (uint64_t i = 0; i < n; i++) dst[i] = (float)s[i];
        return TMLP_OK;
    default:
        return tmlp_error_set(err, TMLP_ERR_UNSUPPORTED,
                              "safetensors: tensor `" ST_NAME_FMT "` has dtype %s; only F32, F16, "
                              "BF16 and U8 convert to F32", t->name ? t->name : "",
                              tmlp_st_dtype_name(t->dtype));
    }
}

/* ---- writing ----------------------------------------------------------------------- */

/* A growable string in the caller's allocator. */
typedef struct st_buf {
    const tmlp_allocator *alloc;
    char *p;
    size_t len, cap;
    int oom;
} st_buf;

static void st_buf_put(st_buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (n > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *q = tmlp_mem_alloc(b->alloc, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        if (b->len) memcpy(q, b->p, b->len);
        tmlp_mem_free(b->alloc, b->p);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void st_buf_str(st_buf *b, const char *s) { st_buf_put(b, s, strlen(s)); }

static void st_buf_u64(st_buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    st_buf_put(b, tmp, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void st_buf_json_str(st_buf *b, const char *s)
{
    st_buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            st_buf_put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            st_buf_put(b, esc, 6);
        } else {
            st_buf_put(b, (const char *)&c, 1);
        }
    }
    st_buf_put(b, "\"", 1);
}

static tmlp_status st_write_check(const tmlp_st_write_tensor *tensors, int64_t n,
                                  const tmlp_st_meta *meta, int64_t n_meta, uint64_t *sizes,
                                  tmlp_error *err)
{
    for (int64_t i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors write: metadata %lld is NULL",
                                  (long long)i);
        if (st_utf8_check((const unsigned char *)meta[i].key, strlen(meta[i].key)) !=
                strlen(meta[i].key) ||
            st_utf8_check((const unsigned char *)meta[i].value, strlen(meta[i].value)) !=
                strlen(meta[i].value))
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "safetensors write: metadata `" ST_NAME_FMT "` is not UTF-8",
                                  meta[i].key);
    }
    for (int64_t i = 0; i < n; i++) {
        const tmlp_st_write_tensor *t = &tensors[i];
        if (!t->name)
            return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors write: tensor %lld has no name",
                                  (long long)i);
        size_t len = strlen(t->name);
        if (st_utf8_check((const unsigned char *)t->name, len) != len ||
            strcmp(t->name, "__metadata__") == 0)
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "safetensors write: invalid tensor name `" ST_NAME_FMT "`",
                                  t->name);
        for (int64_t j = 0; j < i; j++)
            if (strcmp(tensors[j].name, t->name) == 0)
                return tmlp_error_set(err, TMLP_ERR_DUPLICATE,
                                      "safetensors write: tensor `" ST_NAME_FMT "` given twice",
                                      t->name);
        if (tmlp_st_dtype_bits(t->dtype) == 0 || t->ndim < 0 || t->ndim > TMLP_ST_MAX_DIMS)
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "safetensors write: tensor `" ST_NAME_FMT "`: bad dtype or rank",
                                  t->name);
        uint64_t numel = 1, bits;
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] > (1ULL << 53) || __builtin_mul_overflow(numel, t->shape[d], &numel))
                return tmlp_error_set(err, TMLP_ERR_OVERFLOW,
                                      "safetensors write: tensor `" ST_NAME_FMT "`: shape overflows",
                                      t->name);
        if (__builtin_mul_overflow(numel, (uint64_t)tmlp_st_dtype_bits(t->dtype), &bits))
            return tmlp_error_set(err, TMLP_ERR_OVERFLOW,
                                  "safetensors write: tensor `" ST_NAME_FMT "`: size overflows",
                                  t->name);
        if (bits % 8)
            return tmlp_error_set(err, TMLP_ERR_MISALIGNED,
                                  "safetensors write: tensor `" ST_NAME_FMT "`: %llu bits is not "
                                  "whole bytes", t->name, (unsigned long long)bits);
        sizes[i] = bits / 8;
        if (sizes[i] && !t->data)
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "safetensors write: tensor `" ST_NAME_FMT "` has no data",
                                  t->name);
    }
    return TMLP_OK;
}

tmlp_status tmlp_st_write(const char *path, const tmlp_st_write_tensor *tensors, int64_t n,
                          const tmlp_st_meta *meta, int64_t n_meta,
                          const tmlp_allocator *alloc, tmlp_error *err)
{
    if (!path || n < 0 || n_meta < 0 || (n && !tensors) || (n_meta && !meta))
        return tmlp_error_set(err, TMLP_ERR_ARG, "safetensors write: bad argument");

    size_t sizes_bytes;
    if (!tmlp_size_mul((size_t)(n ? n : 1), sizeof(uint64_t), &sizes_bytes))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "safetensors write: too many tensors");
    uint64_t *sizes = tmlp_mem_alloc(alloc, sizes_bytes);
    if (!sizes) return tmlp_error_set(err, TMLP_ERR_NOMEM, "safetensors write: out of memory");
    tmlp_status s = st_write_check(tensors, n, meta, n_meta, sizes, err);
    if (s != TMLP_OK) {
        tmlp_mem_free(alloc, sizes);
        return s;
    }

    /* Header: {"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[b,e]},..} */
    st_buf b = {alloc, NULL, 0, 0, 0};
    st_buf_str(&b, "{");
    int first = 1;
    if (n_meta) {
        st_buf_str(&b, "\"__metadata__\":{");
        for (int64_t i = 0; i < n_meta; i++) {
            if (i) st_buf_str(&b, ",");
            st_buf_json_str(&b, meta[i].key);
            st_buf_str(&b, ":");
            st_buf_json_str(&b, meta[i].value);
        }
        st_buf_str(&b, "}");
        first = 0;
    }
    uint64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        const tmlp_st_write_tensor *t = &tensors[i];
        if (!first) st_buf_str(&b, ",");
        first = 0;
        st_buf_json_str(&b, t->name);
        st_buf_str(&b, ":{\"dtype\":\"");
        st_buf_str(&b, tmlp_st_dtype_name(t->dtype));
        st_buf_str(&b, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) st_buf_str(&b, ",");
            st_buf_u64(&b, t->shape[d]);
        }
        st_buf_str(&b, "],\"data_offsets\":[");
        st_buf_u64(&b, off);
        st_buf_str(&b, ",");
        if (sizes[i] > (1ULL << 53) - off) b.oom = 1;
        off += sizes[i];
        st_buf_u64(&b, off);
        st_buf_str(&b, "]}");
    }
    st_buf_str(&b, "}");
    while (!b.oom && b.len % 8) st_buf_str(&b, " "); /* data block starts 8-aligned */
    if (b.oom || b.len > ST_MAX_HEADER) {
        tmlp_mem_free(alloc, b.p);
        tmlp_mem_free(alloc, sizes);
        return b.oom ? tmlp_error_set(err, TMLP_ERR_NOMEM, "safetensors write: out of memory "
                                                           "building the header")
                     : tmlp_error_set(err, TMLP_ERR_HEADER_TOO_LARGE,
                                      "safetensors write: header of %zu bytes is too large", b.len);
    }

    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)b.len >> (8 * i));

    /* Atomic: a failed save (full disk, signal) leaves the model already at `path`. */
    tmlp_atomic_file *af = NULL;
    tmlp_status st = tmlp_atomic_file_open(path, alloc, &af, err);
    if (st) {
        tmlp_mem_free(alloc, b.p);
        tmlp_mem_free(alloc, sizes);
        return st;
    }
    FILE *fp = tmlp_atomic_file_stream(af);
    int ok = fwrite(lenbuf, 1, 8, fp) == 8 && fwrite(b.p, 1, b.len, fp) == b.len;
    for (int64_t i = 0; ok && i < n; i++)
        if (sizes[i] && fwrite(tensors[i].data, 1, (size_t)sizes[i], fp) != sizes[i]) ok = 0;
    int e = ok ? 0 : errno;
    tmlp_mem_free(alloc, b.p);
    tmlp_mem_free(alloc, sizes);
    if (!ok) {
        tmlp_atomic_file_abort(af);
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: write failed: %s", path,
                              e ? strerror(e) : "short write");
    }
    if ((st = tmlp_atomic_file_commit(af, err))) return st;
    return TMLP_OK;
}
