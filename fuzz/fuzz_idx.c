/* fuzz_idx.c — libFuzzer target for the IDX parser and loader.
 *
 * 1. tmlp_idx_parse on the input. When it parses, the result must describe it exactly:
 *    4 + 4*ndim header bytes, then product(dims) data bytes equal to the input's tail.
 * 2. Differential check of the file loader, through an in-memory file (memfd): the input
 *    gzip-compressed must load with the same status as the parser gave (and the same bytes),
 *    and so must the plain input unless it happens to start with the gzip magic 1f 8b.
 *    The raw input is also loaded as if it were a gzip stream when it starts with 1f 8b,
 *    which exercises zlib's error paths on corrupt streams (must be TMLP_ERR_IO or a clean
 *    status, never a crash).
 * Violations call __builtin_trap so libFuzzer records the input.
 *
 * Build and run: scripts/fuzz.sh idx SECONDS
 */
#include "tinymlp/data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) __builtin_trap();                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load `bytes` through a memfd; returns the status and, on success, *out. */
static tmlp_status load_bytes(const uint8_t *bytes, size_t n, tmlp_idx **out)
{
    *out = NULL;
    int fd = memfd_create("fuzz_idx", MFD_CLOEXEC);
    if (fd < 0) return TMLP_ERR_ARG;
    if (n && write(fd, bytes, n) != (ssize_t)n) {
        close(fd);
        return TMLP_ERR_ARG;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    tmlp_error err;
    tmlp_status s = tmlp_idx_load(path, NULL, out, &err);
    close(fd);
    if (s != TMLP_OK) CHECK(*out == NULL && err.code == s && err.message[0] != '\0');
    return s;
}

/* gzip-compress (deflate with a gzip wrapper) into a malloc'd buffer. */
static uint8_t *gzip_bytes(const uint8_t *in, size_t n, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    uint8_t *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_n = cap - z.avail_out;
    return out;
}

static int same_idx(const tmlp_idx *a, const tmlp_idx *b)
{
    return a->ndim == b->ndim && memcmp(a->dims, b->dims, sizeof a->dims) == 0 &&
           a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tmlp_idx *idx = NULL;
    tmlp_error err;
    tmlp_status s = tmlp_idx_parse(data, size, NULL, &idx, &err);
    if (s != TMLP_OK) {
        CHECK(idx == NULL && err.code == s && err.message[0] != '\0');
    } else {
        CHECK(idx != NULL && idx->ndim >= 1 && idx->ndim <= 4);
        uint64_t prod = 1;
        for (int i = 0; i < idx->ndim; i++) prod *= (uint64_t)idx->dims[i];
        size_t header = 4 + 4 * (size_t)idx->ndim;
        CHECK(prod == idx->size && header + idx->size == size);
        CHECK(memcmp(idx->data, data + header, idx->size) == 0);
    }

    int gzip_magic = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    tmlp_idx *loaded = NULL;
    tmlp_status ls = load_bytes(data, size, &loaded);
    if (!gzip_magic) {
        CHECK(ls == s);
        if (s == TMLP_OK) CHECK(same_idx(idx, loaded));
    }
    tmlp_idx_destroy(loaded);

    size_t gz_n = 0;
    uint8_t *gz = gzip_bytes(data, size, &gz_n);
    if (gz) {
        ls = load_bytes(gz, gz_n, &loaded);
        CHECK(ls == s);
        if (s == TMLP_OK) CHECK(same_idx(idx, loaded));
        tmlp_idx_destroy(loaded);
        free(gz);
    }
    tmlp_idx_destroy(idx);
    return 0;
}
