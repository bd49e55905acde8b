/* internal.c — allocation through the caller's allocator and error formatting. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *tmlp_mem_alloc(const tmlp_allocator *a, size_t size)
{
    if (size == 0) size = 1; /* a zero-size request still gets a unique, freeable pointer */
    if (a && a->malloc_fn) return a->malloc_fn(a->user, size);
    return malloc(size);
}

void *tmlp_mem_calloc(const tmlp_allocator *a, size_t count, size_t size)
{
    size_t total;
    if (!tmlp_size_mul(count, size, &total)) return NULL;
    void *p = tmlp_mem_alloc(a, total);
    if (p) memset(p, 0, total);
    return p;
}

void tmlp_mem_free(const tmlp_allocator *a, void *p)
{
    if (!p) return;
    if (a && a->free_fn) a->free_fn(a->user, p);
    else free(p);
}

char *tmlp_mem_strdup(const tmlp_allocator *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tmlp_mem_alloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

tmlp_status tmlp_error_set(tmlp_error *err, tmlp_status code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
