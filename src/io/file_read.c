/* file_read.c — open / fstat / pread for the model loaders (file_read.h). */
#include "io/file_read.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

tmlp_status tmlp_file_open(const char *path, int *fd, size_t *size, tmlp_error *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    const char *why = NULL;
    int e = 0;
    if (fstat(*fd, &st) != 0) e = errno, why = "cannot stat";
    else if (!S_ISREG(st.st_mode)) why = S_ISDIR(st.st_mode) ? "not a regular file (a directory)" : "not a regular file";
    else if ((uint64_t)st.st_size > SIZE_MAX) why = "file too large for memory";
    if (why) {
        close(*fd);
        *fd = -1;
        return e ? tmlp_error_set(err, TMLP_ERR_IO, "%s: %s: %s", path, why, strerror(e))
                 : tmlp_error_set(err, TMLP_ERR_IO, "%s: %s", path, why);
    }
    *size = (size_t)st.st_size;
    return TMLP_OK;
}

int tmlp_file_pread(int fd, void *buf, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (unsigned char *)buf + got, n - got, at + (off_t)got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

tmlp_status tmlp_file_head(const char *path, unsigned char *buf, size_t cap, size_t *n,
                           tmlp_error *err)
{
    int fd;
    size_t size;
    tmlp_status st = tmlp_file_open(path, &fd, &size, err);
    if (st != TMLP_OK) return st;
    *n = size < cap ? size : cap;
    int e = tmlp_file_pread(fd, buf, *n, 0);
    close(fd);
    if (e != 0)
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: read failed: %s", path,
                              e > 0 ? strerror(e) : "unexpected end of file");
    return TMLP_OK;
}

tmlp_status tmlp_file_read(const char *path, const tmlp_allocator *a, unsigned char **buf,
                           size_t *size, tmlp_error *err)
{
    int fd;
    *buf = NULL;
    tmlp_status st = tmlp_file_open(path, &fd, size, err);
    if (st != TMLP_OK) return st;
    unsigned char *b = tmlp_mem_alloc(a, *size ? *size : 1);
    if (!b) {
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "%s: out of memory for %zu bytes", path, *size);
    }
    int e = tmlp_file_pread(fd, b, *size, 0);
    close(fd);
    if (e != 0) {
        tmlp_mem_free(a, b);
        return tmlp_error_set(err, TMLP_ERR_IO, "%s: read failed: %s", path,
                              e > 0 ? strerror(e) : "file shrank while reading");
    }
    *buf = b;
    return TMLP_OK;
}
