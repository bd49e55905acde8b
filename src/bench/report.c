/* report.c — a report as a list of blocks, rendered to Markdown and to one HTML page.
 *
 * The CLI (bench/cmd_report.c) decides WHAT a report says from the measured results; this
 * file only decides HOW it looks. A report is an ordered list of blocks — heading,
 * paragraph, bullet, preformatted code, table header, table row, figure — kept as copied
 * strings. Rendering walks the list twice:
 *   Markdown: GitHub-flavoured; a figure becomes ![caption](name.svg) next to the file.
 *   HTML:     one self-contained page: CSS in a <style> element, each SVG inline, no
 *             scripts, no external URLs, so it opens offline and from an e-mail attachment.
 * Text is escaped for HTML; `backtick` spans become <code> in both outputs.
 *
 * Also here: the growable string buffer used by svg.c (report_internal.h).
 */
#include "tinymlp/report.h"

#include "tinymlp/file.h"
#include "internal.h"
#include "report_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- string buffer ------------------------------------------------------------------ */

static int sb_reserve(tmlp_strbuf *b, size_t extra)
{
    if (b->failed) return 0;
    size_t need;
    if (__builtin_add_overflow(b->len, extra + 1, &need)) goto fail;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (!tmlp_size_mul(cap, 2, &cap)) goto fail;
    }
    char *p = tmlp_mem_alloc(NULL, cap);
    if (!p) goto fail;
    if (b->p) memcpy(p, b->p, b->len + 1);
    tmlp_mem_free(NULL, b->p);
    b->p = p;
    b->cap = cap;
    return 1;
fail:
    b->failed = 1;
    return 0;
}

void tmlp_strbuf_puts(tmlp_strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (!sb_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void tmlp_strbuf_printf(tmlp_strbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!sb_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tmlp_strbuf_xml(tmlp_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': tmlp_strbuf_puts(b, "&amp;"); break;
        case '<': tmlp_strbuf_puts(b, "&lt;"); break;
        case '>': tmlp_strbuf_puts(b, "&gt;"); break;
        case '"': tmlp_strbuf_puts(b, "&quot;"); break;
        case '\'': tmlp_strbuf_puts(b, "&#39;"); break;
        default: {
            char c[2] = {*s, 0};
            tmlp_strbuf_puts(b, c);
        }
        }
    }
}

char *tmlp_strbuf_take(tmlp_strbuf *b)
{
    if (!b->failed && !b->p) sb_reserve(b, 0);
    char *p = b->failed ? NULL : b->p;
    if (b->failed) tmlp_mem_free(NULL, b->p);
    if (p) p[b->len] = 0;
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return p;
}

void tmlp_strbuf_free(tmlp_strbuf *b)
{
    if (!b) return;
    tmlp_mem_free(NULL, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void tmlp_report_string_free(char *s) { tmlp_mem_free(NULL, s); }

tmlp_status tmlp_report_write_file(const char *path, const char *text, tmlp_error *err)
{
    if (!path || !text) return tmlp_error_set(err, TMLP_ERR_ARG, "write_file: NULL path or text");
    /* atomic: a full disk or a signal leaves the previous file, never a truncated one */
    return tmlp_atomic_file_write_all(path, text, strlen(text), NULL, err);
}

/* ---- the block list ------------------------------------------------------------------ */

typedef enum block_kind { B_HEADING, B_PARA, B_BULLET, B_CODE, B_THEAD, B_TROW, B_FIGURE } block_kind;

typedef struct block {
    block_kind kind;
    int level;      /* heading level; table column count */
    char **cells;   /* heading/para/bullet/code: cells[0]; figure: name, caption, svg */
    int ncells;
} block;

struct tmlp_report {
    char *title;
    block *blocks;
    int n, cap;
    int cols;       /* columns of the table being built, 0 outside a table */
};

tmlp_status tmlp_report_create(const char *title, tmlp_report **out, tmlp_error *err)
{
    if (!title || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "report: NULL title or output pointer");
    tmlp_report *r = tmlp_mem_calloc(NULL, 1, sizeof *r);
    if (!r || !(r->title = tmlp_mem_strdup(NULL, title))) {
        tmlp_mem_free(NULL, r);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: out of memory");
    }
    *out = r;
    return TMLP_OK;
}

void tmlp_report_destroy(tmlp_report *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        for (int c = 0; c < r->blocks[i].ncells; c++) tmlp_mem_free(NULL, r->blocks[i].cells[c]);
        tmlp_mem_free(NULL, r->blocks[i].cells);
    }
    tmlp_mem_free(NULL, r->blocks);
    tmlp_mem_free(NULL, r->title);
    tmlp_mem_free(NULL, r);
}

/* Append a block with copies of ncells strings (NULL cells become ""). `fn` names the
 * public call in messages ("report: heading: out of memory"). */
static tmlp_status add_block(tmlp_report *r, block_kind k, int level, const char *const *cells, int ncells,
                             const char *fn, tmlp_error *err)
{
    if (!r) return tmlp_error_set(err, TMLP_ERR_ARG, "report: %s: r is NULL", fn);
    if (ncells < 1) return tmlp_error_set(err, TMLP_ERR_ARG, "report: %s: no cells", fn);
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 32;
        size_t bytes;
        if (!tmlp_size_mul((size_t)cap, sizeof(block), &bytes))
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: %s: out of memory", fn);
        block *nb = tmlp_mem_alloc(NULL, bytes);
        if (!nb) return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: %s: out of memory", fn);
        if (r->blocks) memcpy(nb, r->blocks, (size_t)r->n * sizeof(block));
        tmlp_mem_free(NULL, r->blocks);
        r->blocks = nb;
        r->cap = cap;
    }
    char **c = tmlp_mem_calloc(NULL, (size_t)ncells, sizeof *c);
    if (!c) return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: %s: out of memory", fn);
    for (int i = 0; i < ncells; i++) {
        c[i] = tmlp_mem_strdup(NULL, cells[i] ? cells[i] : "");
        if (!c[i]) {
            for (int j = 0; j < i; j++) tmlp_mem_free(NULL, c[j]);
            tmlp_mem_free(NULL, c);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: %s: out of memory", fn);
        }
    }
    r->blocks[r->n++] = (block){k, level, c, ncells};
    return TMLP_OK;
}

/* A text block (heading, paragraph, bullet, code): text must not be NULL. */
static tmlp_status add_text(tmlp_report *r, block_kind k, int level, const char *text, const char *fn,
                            tmlp_error *err)
{
    if (!text) return tmlp_error_set(err, TMLP_ERR_ARG, "report: %s: text is NULL", fn);
    if (r) r->cols = 0;
    return add_block(r, k, level, &text, 1, fn, err);
}

tmlp_status tmlp_report_heading(tmlp_report *r, int level, const char *text, tmlp_error *err)
{
    if (level < 2 || level > 3)
        return tmlp_error_set(err, TMLP_ERR_ARG, "report: heading: level %d is not 2 or 3", level);
    return add_text(r, B_HEADING, level, text, "heading", err);
}

tmlp_status tmlp_report_paragraph(tmlp_report *r, const char *text, tmlp_error *err)
{
    return add_text(r, B_PARA, 0, text, "paragraph", err);
}

tmlp_status tmlp_report_bullet(tmlp_report *r, const char *text, tmlp_error *err)
{
    return add_text(r, B_BULLET, 0, text, "bullet", err);
}

tmlp_status tmlp_report_code(tmlp_report *r, const char *text, tmlp_error *err)
{
    return add_text(r, B_CODE, 0, text, "code", err);
}

tmlp_status tmlp_report_table(tmlp_report *r, int ncols, const char *const *header, tmlp_error *err)
{
    if (!r) return tmlp_error_set(err, TMLP_ERR_ARG, "report: table: r is NULL");
    if (!header) return tmlp_error_set(err, TMLP_ERR_ARG, "report: table: header is NULL");
    if (ncols < 1 || ncols > 32)
        return tmlp_error_set(err, TMLP_ERR_ARG, "report: table: ncols %d is outside [1, 32]", ncols);
    tmlp_status st = add_block(r, B_THEAD, ncols, header, ncols, "table", err);
    if (st == TMLP_OK) r->cols = ncols;
    return st;
}

tmlp_status tmlp_report_table_row(tmlp_report *r, const char *const *cells, tmlp_error *err)
{
    /* TMLP_ERR_STATE for all three, as before: a row needs a table to belong to. */
    if (!r) return tmlp_error_set(err, TMLP_ERR_STATE, "report: table_row: r is NULL");
    if (!cells) return tmlp_error_set(err, TMLP_ERR_STATE, "report: table_row: cells is NULL");
    if (r->cols < 1)
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "report: table_row: no table is open (call tmlp_report_table first)");
    return add_block(r, B_TROW, r->cols, cells, r->cols, "table_row", err);
}

tmlp_status tmlp_report_figure(tmlp_report *r, const char *name, const char *caption, const char *svg,
                               tmlp_error *err)
{
    if (!name || !caption || !svg)
        return tmlp_error_set(err, TMLP_ERR_ARG, "report: figure: %s is NULL",
                              !name ? "name" : !caption ? "caption" : "svg");
    if (!*name) return tmlp_error_set(err, TMLP_ERR_ARG, "report: figure: name is empty");
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-')) /* the name becomes a file name: keep it to [A-Za-z0-9_-] */
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "report: figure: name \"%.64s\" has a character outside [A-Za-z0-9_-]", name);
    const char *c[3] = {name, caption, svg};
    if (r) r->cols = 0;
    return add_block(r, B_FIGURE, 0, c, 3, "figure", err);
}

/* ---- rendering ----------------------------------------------------------------------- */

/* Markdown table cells: '|' would end the cell and a newline the row. */
static void md_cell(tmlp_strbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') tmlp_strbuf_puts(b, "\\|");
        else if (*s == '\n') tmlp_strbuf_puts(b, " ");
        else {
            char c[2] = {*s, 0};
            tmlp_strbuf_puts(b, c);
        }
    }
}

/* Escaped HTML text with `code` spans. */
static void html_text(tmlp_strbuf *b, const char *s)
{
    int in_code = 0;
    const char *p = s;
    while (*p) {
        const char *q = strchr(p, '`');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        char *seg = tmlp_mem_alloc(NULL, n + 1);
        if (!seg) {
            b->failed = 1;
            return;
        }
        memcpy(seg, p, n);
        seg[n] = 0;
        tmlp_strbuf_xml(b, seg);
        tmlp_mem_free(NULL, seg);
        if (!q) break;
        /* only pair a backtick that has a partner */
        if (!in_code && !strchr(q + 1, '`')) {
            tmlp_strbuf_puts(b, "`");
        } else {
            tmlp_strbuf_puts(b, in_code ? "</code>" : "<code>");
            in_code = !in_code;
        }
        p = q + 1;
    }
    if (in_code) tmlp_strbuf_puts(b, "</code>");
}

static const char *CSS =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}"
    "h1{border-bottom:2px solid #4c78a8;padding-bottom:.2em}"
    "h2{margin-top:1.8em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.92em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "th{background:#eef2f7}tr:nth-child(even) td{background:#fafafa}"
    "code{background:#f3f3f3;padding:0 .2em;border-radius:3px}"
    "pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.85em;white-space:pre-wrap;"
    "overflow-wrap:anywhere}"
    "nav.toc{background:#f6f8fa;border:1px solid #ddd;padding:.4em 1em;margin:1em 0}"
    "nav.toc ul{margin:.2em 0;padding-left:1.4em}nav.toc>ul>li{margin:.15em 0}"
    "figure{margin:1em 0}figcaption{color:#555;font-size:.9em}"
    "svg{max-width:100%;height:auto;border:1px solid #eee}";

/* The head of both documents: the title, and in HTML the inline CSS. */
static void render_head(const tmlp_report *r, tmlp_strbuf *md, tmlp_strbuf *h)
{
    tmlp_strbuf_printf(md, "# %s\n\n", r->title);
    tmlp_strbuf_puts(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    tmlp_strbuf_xml(h, r->title);
    tmlp_strbuf_printf(h, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", CSS);
    tmlp_strbuf_xml(h, r->title);
    tmlp_strbuf_puts(h, "</h1>\n");
}

/* Contents: every heading, level 3 nested under its level 2, linked to id="s<i>". */
static void render_contents(const tmlp_report *r, tmlp_strbuf *md, tmlp_strbuf *h)
{
    int open3 = 0, any = 0;
    for (int i = 0; i < r->n; i++) {
        const block *bl = &r->blocks[i];
        if (bl->kind != B_HEADING) continue;
        if (!any) {
            tmlp_strbuf_puts(h, "<nav class=\"toc\"><strong>Contents</strong>\n<ul>\n");
            tmlp_strbuf_puts(md, "Contents:\n\n");
            any = 1;
        }
        if (bl->level == 3 && !open3) {
            tmlp_strbuf_puts(h, "<ul>\n");
            open3 = 1;
        } else if (bl->level != 3 && open3) {
            tmlp_strbuf_puts(h, "</ul>\n");
            open3 = 0;
        }
        tmlp_strbuf_printf(h, "<li><a href=\"#s%d\">", i);
        html_text(h, bl->cells[0]);
        tmlp_strbuf_puts(h, "</a></li>\n");
        tmlp_strbuf_printf(md, "%s- %s\n", bl->level == 3 ? "  " : "", bl->cells[0]);
    }
    if (open3) tmlp_strbuf_puts(h, "</ul>\n");
    if (any) {
        tmlp_strbuf_puts(h, "</ul></nav>\n");
        tmlp_strbuf_puts(md, "\n");
    }
}

/* One table row, header (th) or body (td), in both documents; the table closes after the
 * last row (`last`). */
static void render_row(const block *bl, int header, int last, tmlp_strbuf *md, tmlp_strbuf *h)
{
    const char *cell = header ? "th" : "td";
    tmlp_strbuf_puts(md, "|");
    tmlp_strbuf_puts(h, header ? "<table>\n<thead><tr>" : "<tr>");
    for (int c = 0; c < bl->ncells; c++) {
        tmlp_strbuf_puts(md, " ");
        md_cell(md, bl->cells[c]);
        tmlp_strbuf_puts(md, " |");
        tmlp_strbuf_printf(h, "<%s>", cell);
        html_text(h, bl->cells[c]);
        tmlp_strbuf_printf(h, "</%s>", cell);
    }
    if (header) {
        tmlp_strbuf_puts(md, "\n|");
        for (int c = 0; c < bl->ncells; c++) tmlp_strbuf_puts(md, "---|");
    }
    tmlp_strbuf_puts(md, "\n");
    tmlp_strbuf_puts(h, header ? "</tr></thead>\n<tbody>\n" : "</tr>\n");
    if (last) {
        tmlp_strbuf_puts(h, "</tbody></table>\n");
        tmlp_strbuf_puts(md, "\n");
    }
}

/* Block i in both documents (bullets open and close their list, rows their table, by
 * their neighbours' kinds). */
static void render_block(const tmlp_report *r, int i, tmlp_strbuf *md, tmlp_strbuf *h)
{
    const block *bl = &r->blocks[i];
    block_kind prev = i > 0 ? r->blocks[i - 1].kind : B_HEADING;
    block_kind next = i + 1 < r->n ? r->blocks[i + 1].kind : B_HEADING;
    switch (bl->kind) {
    case B_HEADING:
        tmlp_strbuf_printf(md, "%s %s\n\n", bl->level == 2 ? "##" : "###", bl->cells[0]);
        tmlp_strbuf_printf(h, "<h%d id=\"s%d\">", bl->level, i);
        html_text(h, bl->cells[0]);
        tmlp_strbuf_printf(h, "</h%d>\n", bl->level);
        break;
    case B_PARA:
        tmlp_strbuf_printf(md, "%s\n\n", bl->cells[0]);
        tmlp_strbuf_puts(h, "<p>");
        html_text(h, bl->cells[0]);
        tmlp_strbuf_puts(h, "</p>\n");
        break;
    case B_BULLET:
        if (prev != B_BULLET || i == 0) tmlp_strbuf_puts(h, "<ul>\n");
        tmlp_strbuf_printf(md, "- %s\n", bl->cells[0]);
        tmlp_strbuf_puts(h, "<li>");
        html_text(h, bl->cells[0]);
        tmlp_strbuf_puts(h, "</li>\n");
        if (next != B_BULLET || i + 1 == r->n) {
            tmlp_strbuf_puts(h, "</ul>\n");
            tmlp_strbuf_puts(md, "\n");
        }
        break;
    case B_CODE:
        tmlp_strbuf_printf(md, "```\n%s\n```\n\n", bl->cells[0]);
        tmlp_strbuf_puts(h, "<pre>");
        tmlp_strbuf_xml(h, bl->cells[0]);
        tmlp_strbuf_puts(h, "</pre>\n");
        break;
    case B_THEAD:
    case B_TROW:
        render_row(bl, bl->kind == B_THEAD, next != B_TROW || i + 1 == r->n, md, h);
        break;
    case B_FIGURE:
        tmlp_strbuf_printf(md, "![%s](%s.svg)\n\n*%s*\n\n", bl->cells[1], bl->cells[0], bl->cells[1]);
        tmlp_strbuf_puts(h, "<figure>\n");
        tmlp_strbuf_puts(h, bl->cells[2]);
        tmlp_strbuf_puts(h, "<figcaption>");
        html_text(h, bl->cells[1]);
        tmlp_strbuf_puts(h, "</figcaption>\n</figure>\n");
        break;
    }
}

tmlp_status tmlp_report_render(const tmlp_report *r, char **markdown, char **html, tmlp_error *err)
{
    if (!r) return tmlp_error_set(err, TMLP_ERR_ARG, "report: render: r is NULL");
    if (!markdown && !html)
        return tmlp_error_set(err, TMLP_ERR_ARG, "report: render: markdown and html are both NULL");
    tmlp_strbuf md = {0}, h = {0};
    render_head(r, &md, &h);
    render_contents(r, &md, &h);
    for (int i = 0; i < r->n; i++) render_block(r, i, &md, &h);
    tmlp_strbuf_puts(&h, "</body>\n</html>\n");
    char *m = tmlp_strbuf_take(&md), *x = tmlp_strbuf_take(&h);
    if (!m || !x) {
        tmlp_mem_free(NULL, m);
        tmlp_mem_free(NULL, x);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "report: render: out of memory");
    }
    if (markdown) *markdown = m;
    else tmlp_mem_free(NULL, m);
    if (html) *html = x;
    else tmlp_mem_free(NULL, x);
    return TMLP_OK;
}

tmlp_status tmlp_report_write_dir(const tmlp_report *r, const char *dir, tmlp_error *err)
{
    if (!r || !dir) return tmlp_error_set(err, TMLP_ERR_ARG, "report: NULL report or directory");
    int made = mkdir(dir, 0777) == 0; /* ours to remove again if nothing lands in it */
    if (!made && errno != EEXIST)
        return tmlp_error_set(err, TMLP_ERR_IO, "cannot create directory %s: %s", dir, strerror(errno));
    char *md = NULL, *html = NULL;
    tmlp_status st = tmlp_report_render(r, &md, &html, err);
    if (st) {
        if (made) rmdir(dir);
        return st;
    }
    size_t cap = strlen(dir) + 80;
    char *path = tmlp_mem_alloc(NULL, cap);
    if (!path) {
        st = tmlp_error_set(err, TMLP_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    snprintf(path, cap, "%s/report.md", dir);
    if ((st = tmlp_report_write_file(path, md, err))) goto done;
    snprintf(path, cap, "%s/index.html", dir);
    if ((st = tmlp_report_write_file(path, html, err))) goto done;
    for (int i = 0; i < r->n; i++) {
        if (r->blocks[i].kind != B_FIGURE) continue;
        size_t need = strlen(dir) + strlen(r->blocks[i].cells[0]) + 8;
        if (need > cap) {
            tmlp_mem_free(NULL, path);
            cap = need;
            if (!(path = tmlp_mem_alloc(NULL, cap))) {
                st = tmlp_error_set(err, TMLP_ERR_NOMEM, "report: out of memory");
                goto done;
            }
        }
        snprintf(path, cap, "%s/%s.svg", dir, r->blocks[i].cells[0]);
        if ((st = tmlp_report_write_file(path, r->blocks[i].cells[2], err))) goto done;
    }
done:
    if (st && made) rmdir(dir); /* fails, harmlessly, if some file was written */
    tmlp_mem_free(NULL, path);
    tmlp_mem_free(NULL, md);
    tmlp_mem_free(NULL, html);
    return st;
}
