/* report_internal.h (private) — a growable string buffer shared by the SVG and report
 * writers. Errors are sticky: after the first failed allocation every append is a no-op
 * and tmlp_strbuf_take() returns NULL, so callers check once at the end.
 */
#ifndef TMLP_REPORT_INTERNAL_H
#define TMLP_REPORT_INTERNAL_H

#include <stddef.h>

typedef struct tmlp_strbuf {
    char *p;
    size_t len, cap;
    int failed;
} tmlp_strbuf;

void tmlp_strbuf_printf(tmlp_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tmlp_strbuf_puts(tmlp_strbuf *b, const char *s);
/* Append s with & < > " ' escaped for XML/HTML text and attributes. */
void tmlp_strbuf_xml(tmlp_strbuf *b, const char *s);
/* Hand the string to the caller (NULL after a failure; the buffer is reset either way). */
char *tmlp_strbuf_take(tmlp_strbuf *b);
void tmlp_strbuf_free(tmlp_strbuf *b);

#endif
