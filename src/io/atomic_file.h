/* atomic_file.h (private) — write a file so that readers see the old contents or the
 * complete new contents, never a truncated mix.
 *
 *     tmlp_atomic_file *af;
 *     if (tmlp_atomic_file_open("out.json", NULL, &af, err)) return ...;
 *     fprintf(tmlp_atomic_file_stream(af), ...);       // any stdio writes
 *     if (failed) tmlp_atomic_file_abort(af);            // out.json untouched
 *     else st = tmlp_atomic_file_commit(af, err);        // checked, then renamed over
 *
 * How: open() writes a temporary ".NAME.PID.XXXX.tmp" in the target's own directory (a
 * rename is atomic only within one file system) with mode 0666 & ~umask, exactly what
 * fopen("w") would give. commit() checks ferror, fflush, fsync, fclose, renames over the
 * target, then fsyncs the directory so the rename itself survives a crash. Any failure
 * removes the temporary and leaves the target as it was.
 *
 * Special targets: a path that exists and is not a regular file (/dev/null, /dev/stdout, a
 * FIFO, a terminal) cannot be replaced by a rename — replacing /dev/null with a regular
 * file would break the machine — so it is written in place, still with every write
 * checked. A symbolic link is followed: its target is replaced, the link stays. A
 * directory is refused at open() with a message.
 *
 * After kill -9 (or a second Ctrl-C) the temporary stays behind (the target is intact):
 * the next open() of the same target removes it — only files named ".NAME.PID.HEX.tmp" for
 * that target, owned by this user, whose writer process is gone (atomic_file.c says how
 * that is decided).
 *
 * Errors: TMLP_ERR_IO with a message naming the path and strerror; TMLP_ERR_NOMEM.
 * Thread-safety: one handle per thread; different handles are independent.
 */
#ifndef TMLP_IO_ATOMIC_FILE_H
#define TMLP_IO_ATOMIC_FILE_H

#include <stdio.h>

#include "tinymlp/common.h"

typedef struct tmlp_atomic_file tmlp_atomic_file;

/* Start writing `path`. `alloc` may be NULL (libc). On success *out is a handle that must
 * be passed to exactly one of commit or abort. */
tmlp_status tmlp_atomic_file_open(const char *path, const tmlp_allocator *alloc,
                                  tmlp_atomic_file **out, tmlp_error *err);
/* The stream to write into (valid until commit/abort). */
FILE *tmlp_atomic_file_stream(tmlp_atomic_file *af);
/* Finish: every write checked, data on disk, renamed over the target. Always releases the
 * handle; on failure the target is untouched and the temporary removed. */
tmlp_status tmlp_atomic_file_commit(tmlp_atomic_file *af, tmlp_error *err);
/* Give up: remove the temporary, release the handle. Accepts NULL. */
void tmlp_atomic_file_abort(tmlp_atomic_file *af);
/* open + one write of n bytes + commit. */
tmlp_status tmlp_atomic_file_write_all(const char *path, const void *data, size_t n,
                                       const tmlp_allocator *alloc, tmlp_error *err);

#endif
