/* idx.c — LeCun's IDX format (MNIST, Fashion-MNIST), plain or gzip-compressed.
 *
 * Layout (all sizes big-endian):
 *
 *     0x00 0x00 <dtype> <ndim>  |  ndim x u32 dimension sizes  |  product(dims) elements
 *
 * e.g. t10k-images-idx3-ubyte: 00 00 08 03 | 00 00 27 10 (10000) 00 00 00 1c (28) 00 00 00 1c
 * (28) | 7,840,000 pixel bytes, row-major (image, row, column). Label files are 1-D: 00 00 08
 * 01 | N | N bytes.
 *
 * Checks, each with its own status and a message naming the file and the numbers:
 *   fewer bytes than the header needs          TMLP_ERR_TRUNCATED
 *   first two bytes not zero                   TMLP_ERR_MAGIC
 *   dtype byte other than 0x08 (unsigned byte) TMLP_ERR_FORMAT (names the byte and its type)
 *   ndim outside 1..4                          TMLP_ERR_FORMAT
 *   product of dims above 2^31 bytes           TMLP_ERR_OVERFLOW ("absurd": MNIST train is
 *                                              47 MB; the cap also stops gzip bombs)
 *   fewer data bytes than the dims say         TMLP_ERR_TRUNCATED
 *   more bytes than the dims say               TMLP_ERR_FORMAT (trailing bytes)
 *   gzip stream corrupt / cut short            TMLP_ERR_IO
 * A dimension of 0 is legal here (an empty array is a valid IDX file); the data set loader
 * (dataset.c) rejects empty data sets.
 *
 * Decompression never trusts the stream: we read the header, validate it, read at most
 * product(dims) bytes into a buffer that starts at 1 MB and doubles only while data keeps
 * coming (so neither a gzip bomb nor a short file claiming 2 GB costs more memory than
 * about twice the bytes really present), then probe for one more byte. zlib's gzread
 * reads non-gzip files transparently, so one path serves plain and compressed files.
 */
#include "tinymlp/data.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAX_BYTES (1ULL << 31)   /* largest data block we accept */
#define IDX_FIRST_CHUNK (1ULL << 20) /* first read buffer; doubles up to the declared size */
#define IDX_PATH_FMT "%.120s"

static const char *idx_dtype_name(unsigned d)
{
    switch (d) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "not an IDX type";
    }
}

/* Validate the 4-byte preamble: magic, dtype and ndim. `what` names the source. */
static tmlp_status idx_check_preamble(const uint8_t *p, const char *what, int *ndim,
                                      tmlp_error *err)
{
    if (p[0] != 0 || p[1] != 0)
        return tmlp_error_set(err, TMLP_ERR_MAGIC,
                              IDX_PATH_FMT ": bad IDX magic %02x %02x (expected 00 00)", what,
                              p[0], p[1]);
    if (p[2] != 0x08)
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              IDX_PATH_FMT ": IDX dtype byte 0x%02x (%s); only 0x08 (unsigned "
                              "byte) is supported", what, p[2], idx_dtype_name(p[2]));
    if (p[3] < 1 || p[3] > 4)
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              IDX_PATH_FMT ": IDX has %u dimensions; 1 to 4 are supported", what,
                              p[3]);
    *ndim = p[3];
    return TMLP_OK;
}

/* Decode ndim big-endian sizes and bound their product. */
static tmlp_status idx_check_dims(const uint8_t *p, int ndim, const char *what,
                                  int64_t dims[4], uint64_t *nbytes, tmlp_error *err)
{
    uint64_t prod = 1;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *q = p + 4 * i;
        uint32_t d = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
        dims[i] = d;
        prod *= d; /* each factor < 2^32, and we stop once past the cap: no overflow */
        if (prod > IDX_MAX_BYTES) {
            char shape[64];
            size_t len = 0;
            for (int k = 0; k < ndim; k++) {
                const uint8_t *r = p + 4 * k;
                uint32_t dk = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 |
                              r[3];
                len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%u", k ? "x" : "", dk);
            }
            return tmlp_error_set(err, TMLP_ERR_OVERFLOW,
                                  IDX_PATH_FMT ": IDX dimensions %s exceed the limit of %llu bytes",
                                  what, shape, IDX_MAX_BYTES);
        }
    }
    for (int i = ndim; i < 4; i++) dims[i] = 1;
    *nbytes = prod;
    return TMLP_OK;
}

/* Allocate the result with a `nbytes` data block. */
static tmlp_status idx_new(const tmlp_allocator *alloc, int ndim, const int64_t dims[4],
                           uint64_t nbytes, tmlp_idx **out, tmlp_error *err)
{
    tmlp_idx *idx = tmlp_mem_calloc(alloc, 1, sizeof *idx);
    if (!idx) return tmlp_error_set(err, TMLP_ERR_NOMEM, "IDX: out of memory");
    idx->data = tmlp_mem_alloc(alloc, (size_t)nbytes);
    if (!idx->data) {
        tmlp_mem_free(alloc, idx);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "IDX: out of memory for %llu bytes",
                              (unsigned long long)nbytes);
    }
    idx->ndim = ndim;
    memcpy(idx->dims, dims, sizeof idx->dims);
    idx->size = (size_t)nbytes;
    if (alloc) idx->alloc = *alloc;
    *out = idx;
    return TMLP_OK;
}

void tmlp_idx_destroy(tmlp_idx *idx)
{
    if (!idx) return;
    tmlp_allocator a = idx->alloc;
    tmlp_mem_free(&a, idx->data);
    tmlp_mem_free(&a, idx);
}

tmlp_status tmlp_idx_parse(const uint8_t *bytes, size_t size, const tmlp_allocator *alloc,
                           tmlp_idx **out, tmlp_error *err)
{
    if (out) *out = NULL;
    if (!out || (!bytes && size)) return tmlp_error_set(err, TMLP_ERR_ARG, "IDX: NULL argument");
    const char *what = "IDX buffer";
    if (size < 4)
        return tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                              "%s: %zu bytes, shorter than the 4-byte IDX header", what, size);
    int ndim;
    tmlp_status s = idx_check_preamble(bytes, what, &ndim, err);
    if (s != TMLP_OK) return s;
    size_t header = 4 + 4 * (size_t)ndim;
    if (size < header)
        return tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                              "%s: %zu bytes, shorter than the %zu-byte header of a %d-D IDX",
                              what, size, header, ndim);
    int64_t dims[4];
    uint64_t nbytes;
    s = idx_check_dims(bytes + 4, ndim, what, dims, &nbytes, err);
    if (s != TMLP_OK) return s;
    if (size - header < nbytes)
        return tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                              "%s: IDX data has %zu bytes, the header says %llu", what,
                              size - header, (unsigned long long)nbytes);
    if (size - header > nbytes)
        return tmlp_error_set(err, TMLP_ERR_FORMAT,
                              "%s: %llu trailing bytes after the IDX data (%llu expected)", what,
                              (unsigned long long)(size - header - nbytes),
                              (unsigned long long)nbytes);
    s = idx_new(alloc, ndim, dims, nbytes, out, err);
    if (s != TMLP_OK) return s;
    if (nbytes) memcpy((*out)->data, bytes + header, (size_t)nbytes);
    return TMLP_OK;
}

/* ---- files ---------------------------------------------------------------------------- */

/* Read up to n bytes; returns bytes read, or -1 on a zlib/read error (message in *msg). */
static long long idx_gz_read(gzFile gz, uint8_t *dst, uint64_t n, const char **msg)
{
    uint64_t got = 0;
    while (got < n) {
        uint64_t want = n - got;
        unsigned chunk = want > (1u << 30) ? (1u << 30) : (unsigned)want;
        int r = gzread(gz, dst + got, chunk);
        if (r < 0) {
            int errnum = 0;
            *msg = gzerror(gz, &errnum);
            if (errnum == Z_ERRNO) *msg = strerror(errno);
            return -1;
        }
        if (r == 0) break;
        got += (uint64_t)r;
    }
    /* A stream cut mid-member ends with Z_BUF_ERROR ("unexpected end of file"): that is a
     * damaged gzip file, not a short IDX. */
    int errnum = 0;
    const char *m = gzerror(gz, &errnum);
    if (errnum != Z_OK) {
        *msg = errnum == Z_ERRNO ? strerror(errno) : m;
        return -1;
    }
    return (long long)got;
}

tmlp_status tmlp_idx_load(const char *path, const tmlp_allocator *alloc, tmlp_idx **out,
                          tmlp_error *err)
{
    if (out) *out = NULL;
    if (!path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "IDX: NULL argument");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tmlp_error_set(err, TMLP_ERR_IO, IDX_PATH_FMT ": cannot open: %s", path,
                              strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_IO, IDX_PATH_FMT ": cannot stat: %s", path,
                              strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        int dir = S_ISDIR(st.st_mode);
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_IO, IDX_PATH_FMT ": not a regular file%s", path,
                              dir ? " (a directory)" : "");
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, IDX_PATH_FMT ": out of memory opening", path);
    }

    tmlp_status s = TMLP_OK;
    const char *msg = NULL;
    uint8_t hdr[4 + 16];
    int ndim = 0;
    int64_t dims[4];
    uint64_t nbytes = 0;
    tmlp_idx *idx = NULL;

    long long r = idx_gz_read(gz, hdr, 4, &msg);
    if (r < 0) goto gzfail;
    if (r < 4) {
        s = tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                           IDX_PATH_FMT ": %lld bytes, shorter than the 4-byte IDX header", path, r);
        goto done;
    }
    s = idx_check_preamble(hdr, path, &ndim, err);
    if (s != TMLP_OK) goto done;
    r = idx_gz_read(gz, hdr + 4, 4 * (uint64_t)ndim, &msg);
    if (r < 0) goto gzfail;
    if (r < 4 * ndim) {
        s = tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                           IDX_PATH_FMT ": header of a %d-D IDX needs %d bytes, the file has %lld",
                           path, ndim, 4 + 4 * ndim, 4 + r);
        goto done;
    }
    s = idx_check_dims(hdr + 4, ndim, path, dims, &nbytes, err);
    if (s != TMLP_OK) goto done;
    /* Read in doubling steps up to the declared size: memory follows the bytes actually
     * present, so a 30-byte file that claims 2 GB fails as truncated having allocated 1 MB. */
    uint64_t cap = nbytes < IDX_FIRST_CHUNK ? nbytes : IDX_FIRST_CHUNK, have = 0;
    s = idx_new(alloc, ndim, dims, cap, &idx, err);
    if (s != TMLP_OK) goto done;
    for (;;) {
        r = idx_gz_read(gz, idx->data + have, cap - have, &msg);
        if (r < 0) goto gzfail;
        have += (uint64_t)r;
        if (have < cap || cap == nbytes) break; /* end of input, or everything read */
        uint64_t next = cap * 2 < nbytes ? cap * 2 : nbytes;
        uint8_t *bigger = tmlp_mem_alloc(alloc, (size_t)next);
        if (!bigger) {
            s = tmlp_error_set(err, TMLP_ERR_NOMEM, IDX_PATH_FMT ": out of memory for %llu bytes",
                               path, (unsigned long long)next);
            goto done;
        }
        memcpy(bigger, idx->data, (size_t)have);
        tmlp_mem_free(alloc, idx->data);
        idx->data = bigger;
        cap = next;
    }
    idx->size = (size_t)nbytes;
    if (have < nbytes) {
        s = tmlp_error_set(err, TMLP_ERR_TRUNCATED,
                           IDX_PATH_FMT ": IDX data has %llu bytes, the header says %llu", path,
                           (unsigned long long)have, (unsigned long long)nbytes);
        goto done;
    }
    uint8_t probe;
    r = idx_gz_read(gz, &probe, 1, &msg);
    if (r < 0) goto gzfail;
    if (r > 0) {
        s = tmlp_error_set(err, TMLP_ERR_FORMAT,
                           IDX_PATH_FMT ": trailing bytes after the %llu bytes of IDX data", path,
                           (unsigned long long)nbytes);
        goto done;
    }
    goto done;

gzfail:
    s = tmlp_error_set(err, TMLP_ERR_IO, IDX_PATH_FMT ": read failed (corrupt gzip?): %s", path,
                       msg ? msg : "unknown error");
done:
    gzclose(gz); /* closes fd too */
    if (s != TMLP_OK) {
        tmlp_idx_destroy(idx);
        return s;
    }
    *out = idx;
    return TMLP_OK;
}
