/* internal.h (private) — helpers every source file uses: allocation through the
 * caller's allocator, overflow-checked sizes, filling a tmlp_error, and name lookup.
 */
#ifndef TMLP_INTERNAL_H
#define TMLP_INTERNAL_H

#include "tinymlp/common.h"

#include <stdbool.h>
#include <string.h>

/* Allocate / free through `a` (NULL or NULL fields = libc). tmlp_mem_free accepts NULL. */
void *tmlp_mem_alloc(const tmlp_allocator *a, size_t size);
void *tmlp_mem_calloc(const tmlp_allocator *a, size_t count, size_t size); /* zeroed; NULL on overflow */
void tmlp_mem_free(const tmlp_allocator *a, void *p);
char *tmlp_mem_strdup(const tmlp_allocator *a, const char *s);

/* r = x * y; false if it overflows. */
static inline bool tmlp_size_mul(size_t x, size_t y, size_t *r) { return !__builtin_mul_overflow(x, y, r); }
static inline bool tmlp_i64_mul(int64_t x, int64_t y, int64_t *r) { return !__builtin_mul_overflow(x, y, r); }

/* Fill err (if non-NULL) with code and a printf-style message; returns code, so
 *     return tmlp_error_set(err, TMLP_ERR_SHAPE, "tensor `%s`: ...", name);         */
tmlp_status tmlp_error_set(tmlp_error *err, tmlp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The index of `name` in a table of n names (exact match), or -1: the parsers of name
 * enums (kernels, precisions) look their names up the same way. */
static inline int tmlp_name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (!strcmp(name, names[i])) return (int)i;
    return -1;
}

#endif
