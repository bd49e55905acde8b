/* tinymlp/report.h — a Markdown + HTML report writer: an ordered list of blocks (headings,
 * paragraphs, bullets, code, tables, SVG figures from svg.h) rendered to report.md and one
 * self-contained index.html, and the file writer the CLI uses for *.svg.
 *
 * Ownership: tmlp_report_create/tmlp_report_destroy (destroy accepts NULL); rendered
 * strings are freed with tmlp_report_string_free (common.h).
 * Errors: a trailing optional `tmlp_error *err` (NULL is fine): "report: heading: level 4
 * is not 2 or 3". Thread-safety: one report belongs to one thread.
 */
#ifndef TINYMLP_REPORT_H
#define TINYMLP_REPORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write `text` to `path` (the helper the CLI uses for *.svg). TMLP_ERR_IO names the path. */
TMLP_API tmlp_status tmlp_report_write_file(const char *path, const char *text, tmlp_error *err);

/* ===== Report writer ======================================================================
 * A report is an ordered list of blocks (headings, paragraphs, bullet lists, tables,
 * inline SVG figures) rendered twice: Markdown (figures as links to DIR/<name>.svg) and
 * one self-contained HTML page (CSS inline, SVGs inline, no scripts, no network).
 * The block calls below return TMLP_ERR_ARG or TMLP_ERR_STATE on a bad call (TMLP_ERR_NOMEM
 * when out of memory), and their `err` (may be NULL) gets a message: "report: heading:
 * level 4 is not 2 or 3", "report: table_row: no table is open (call tmlp_report_table
 * first)". */
typedef struct tmlp_report tmlp_report;

TMLP_API tmlp_status tmlp_report_create(const char *title, tmlp_report **out, tmlp_error *err);
TMLP_API void tmlp_report_destroy(tmlp_report *r);
/* level 2 or 3 */
TMLP_API tmlp_status tmlp_report_heading(tmlp_report *r, int level, const char *text,
                                         tmlp_error *err);
/* Plain text (escaped in HTML; `code` spans in backticks are kept in both). */
TMLP_API tmlp_status tmlp_report_paragraph(tmlp_report *r, const char *text, tmlp_error *err);
/* One bullet; consecutive bullets form one list. */
TMLP_API tmlp_status tmlp_report_bullet(tmlp_report *r, const char *text, tmlp_error *err);
/* A preformatted block (the environment JSON). */
TMLP_API tmlp_status tmlp_report_code(tmlp_report *r, const char *text, tmlp_error *err);
/* A table: `ncols` header cells, then rows added with tmlp_report_table_row. */
TMLP_API tmlp_status tmlp_report_table(tmlp_report *r, int ncols, const char *const *header,
                                       tmlp_error *err);
TMLP_API tmlp_status tmlp_report_table_row(tmlp_report *r, const char *const *cells,
                                           tmlp_error *err);
/* An SVG figure: `name` (e.g. "latency_hist") becomes DIR/name.svg; caption is shown. */
TMLP_API tmlp_status tmlp_report_figure(tmlp_report *r, const char *name, const char *caption,
                                        const char *svg, tmlp_error *err);
/* Render to strings (caller frees with tmlp_report_string_free). */
TMLP_API tmlp_status tmlp_report_render(const tmlp_report *r, char **markdown, char **html,
                                        tmlp_error *err);
/* Write DIR/report.md, DIR/index.html and DIR/<figure>.svg (DIR is created if missing). */
TMLP_API tmlp_status tmlp_report_write_dir(const tmlp_report *r, const char *dir, tmlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
