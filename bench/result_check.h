/* result_check.h — reading a bench_mlp results document safely: a size cap checked before
 * the file is parsed, then the checks every reader relies on (report --from, compare,
 * regress, --baseline, and any later importer).
 *
 * The results format is versioned by a top-level integer "schema_version" (today 1; the
 * JSON Schema is docs/schema/results-v1.json, installed under share/tinymlp/schema). A
 * document without the key is version 0: bench_mlp before the key existed wrote the same
 * structure, so it is read under the same checks. A version above
 * TMLP_RESULT_SCHEMA_VERSION is refused: a newer writer may have changed a meaning.
 *
 * A refused document gets ONE message, "FILE: /json/pointer: what is wrong", naming the
 * first offending field (RFC 6901 pointer, "/runs/0/latency_ns/p50"). Callers print it and
 * exit 1. Nothing here prints or exits.
 */
#ifndef TMLP_BENCH_RESULT_CHECK_H
#define TMLP_BENCH_RESULT_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The version every JSON document bench_mlp writes carries as "schema_version". */
#define TMLP_RESULT_SCHEMA_VERSION 1

/* Largest file a reader accepts (64 MiB), checked before any byte is parsed: cJSON needs
 * several times the text size in memory, and a results file with every raw latency of a
 * million-query run is about 10 MB. */
#define TMLP_RESULT_MAX_BYTES ((size_t)64 << 20)

/* Check a parsed results document. `file` names it in the message (may be NULL).
 * Returns 0 when the document may be read, -1 after writing the reason into msg[cap]. */
int tmlp_result_check(const cJSON *doc, const char *file, char *msg, size_t cap);

/* Read a whole file of at most TMLP_RESULT_MAX_BYTES into a NUL-terminated malloc'ed buffer
 * (*text, *len bytes without the NUL; the caller frees). A regular file's size is checked
 * with fstat before reading; any other file (a FIFO) stops one byte past the cap.
 * Returns 0, or -1 with the reason (open, read, size, memory) in msg[cap]. */
int tmlp_result_slurp(const char *path, char **text, size_t *len, char *msg, size_t cap);

/* tmlp_result_slurp, cJSON_Parse and tmlp_result_check: the document, or NULL with the
 * reason in msg[cap]. The caller deletes the document. */
cJSON *tmlp_result_read(const char *path, char *msg, size_t cap);

#endif
