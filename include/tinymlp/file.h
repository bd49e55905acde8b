/* tinymlp/file.h — write a file so that readers see its old contents or the complete new
 * contents, never a truncated mix: the one writer behind tmlp_model_save, the report
 * writers and every file bench_mlp writes.
 *
 *     tmlp_atomic_file *af;
 *     if (tmlp_atomic_file_open("out.json", NULL, &af, &err)) return ...;
 *     fprintf(tmlp_atomic_file_stream(af), ...);     // any stdio writes
 *     if (failed) tmlp_atomic_file_abort(af);          // out.json untouched
 *     else st = tmlp_atomic_file_commit(af, &err);     // checked, synced, renamed over
 *
 * How: open() creates a temporary ".NAME.PID.RANDOM.tmp" beside the target (a rename is
 * atomic only within one file system) with O_CREAT | O_EXCL | O_NOFOLLOW and 64 random bits
 * from getrandom(2) in its name, so no one can predict it or plant a link or FIFO there.
 * commit() checks every write, fflush, fsync and fclose, renames over the target, then
 * fsyncs the directory. Any failure removes the temporary and leaves the target as it was.
 *
 * What each kind of target gets (docs/reliability.md lists the test of each):
 *   - missing:              created, mode 0666 & ~umask (what fopen("w") gives);
 *   - regular file:         replaced; the new file keeps the old one's mode (0600 stays
 *                           0600) and, where permitted, its owner and group;
 *   - regular file with more than one hard link: refused (TMLP_ERR_IO, "has 2 hard links").
 *                           A rename would detach the other names, writing in place would
 *                           not be atomic; neither is what a caller of this API wants;
 *   - symbolic link to an existing file: followed; the file it points to is replaced as
 *                           above and the link is kept;
 *   - dangling symbolic link: refused ("dangling symbolic link"): creating a file where a
 *                           link points is how a planted link redirects a write;
 *   - directory:            refused;
 *   - other (/dev/null, a FIFO, a terminal): written in place, every write still checked
 *                           (replacing /dev/null with a regular file would break the machine).
 *
 * After kill -9 the temporary stays behind (the target is intact): the next open() of the
 * same target removes it — only files named ".NAME.PID.HEX.tmp" for that target, owned by
 * this user, whose writer process is gone. A name longer than 200 bytes is cut to its first
 * 200 bytes in the temporary's name, so the temporary fits in NAME_MAX (255).
 *
 * Errors: TMLP_ERR_IO with one line naming the path (long paths shortened in the middle so
 * the reason always fits) and strerror ("File name too long", "No space left on device");
 * TMLP_ERR_ARG; TMLP_ERR_NOMEM.
 * Thread-safety: one handle per thread; different handles are independent. The library
 * installs no signal handler: a program that wants to remove the temporary on a signal
 * reads its name with tmlp_atomic_file_temp_path (bench_mlp does).
 */
#ifndef TINYMLP_FILE_H
#define TINYMLP_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_atomic_file tmlp_atomic_file;

/* Start writing `path`. `alloc` may be NULL (libc). On success *out is a handle that must
 * be passed to exactly one of commit or abort; on failure *out is NULL. */
TMLP_API tmlp_status tmlp_atomic_file_open(const char *path, const tmlp_allocator *alloc,
                                           tmlp_atomic_file **out, tmlp_error *err);
/* The stream to write into (valid until commit/abort). NULL for a NULL handle. */
TMLP_API FILE *tmlp_atomic_file_stream(tmlp_atomic_file *af);
/* The temporary's path (valid until commit/abort), or NULL when a special file is written
 * in place. A signal handler may unlink(2) it: the string is complete before open returns. */
TMLP_API const char *tmlp_atomic_file_temp_path(const tmlp_atomic_file *af);
/* Finish: every write checked, data on disk, renamed over the target. Always releases the
 * handle; on failure the target is untouched and the temporary removed. */
TMLP_API tmlp_status tmlp_atomic_file_commit(tmlp_atomic_file *af, tmlp_error *err);
/* Give up: remove the temporary, release the handle. Accepts NULL. */
TMLP_API void tmlp_atomic_file_abort(tmlp_atomic_file *af);
/* open + one write of n bytes + commit. */
TMLP_API tmlp_status tmlp_atomic_file_write_all(const char *path, const void *data, size_t n,
                                                const tmlp_allocator *alloc, tmlp_error *err);

#ifdef __cplusplus
}
#endif

#endif
