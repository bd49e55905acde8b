/* file_read.h (private) — reading a model file: open a regular file, learn its size with
 * fstat, read it with pread. One copy of these steps for every format (the safetensors
 * reader checks its 8-byte prefix between tmlp_file_open and the full read; the ONNX
 * loader reads the whole file; tmlp_model_load sniffs the first bytes to tell them apart).
 * Messages name the path: "m.onnx: cannot open: No such file or directory".
 */
#ifndef TMLP_IO_FILE_READ_H
#define TMLP_IO_FILE_READ_H

#include "tinymlp/common.h"

#include <stddef.h>
#include <sys/types.h>

/* Open `path` read-only; *size from fstat. TMLP_ERR_IO if it cannot be opened or stat'ed,
 * is not a regular file, or does not fit in memory (size_t). The caller closes *fd. */
tmlp_status tmlp_file_open(const char *path, int *fd, size_t *size, tmlp_error *err);

/* pread until n bytes arrived from offset `at`: 0, an errno, or -1 at end of file. */
int tmlp_file_pread(int fd, void *buf, size_t n, off_t at);

/* The first min(cap, size) bytes of the file into buf (*n of them). TMLP_ERR_IO. */
tmlp_status tmlp_file_head(const char *path, unsigned char *buf, size_t cap, size_t *n,
                           tmlp_error *err);

/* The whole file in one allocation through `a` (*buf, *size; free with tmlp_mem_free).
 * The allocation is the size fstat gave, never a size read from the file.
 * TMLP_ERR_IO, TMLP_ERR_NOMEM. */
tmlp_status tmlp_file_read(const char *path, const tmlp_allocator *a, unsigned char **buf,
                           size_t *size, tmlp_error *err);

#endif
