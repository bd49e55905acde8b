/* test_idx.c — the IDX parser and loader (src/io/idx.c).
 *
 * In-memory files for every malformed case with its exact status; then files on disk,
 * plain and gzip-compressed (written here with zlib), which must load identically; a gzip
 * "bomb" whose stream decompresses to far more than its header declares (the loader must
 * stop at the declared size); corrupt and cut gzip streams; out-of-memory at each
 * allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "corpus.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* An IDX file: 00 00 dtype ndim, big-endian dims, then `data_len` bytes (i % 251). */
static uint8_t *mk_idx(int dtype, int ndim, const uint32_t *dims, size_t data_len, size_t *size)
{
    *size = 4 + 4 * (size_t)ndim + data_len;
    uint8_t *b = malloc(*size);
    assert_non_null(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = (uint8_t)dtype;
    b[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        b[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        b[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        b[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        b[7 + 4 * i] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < data_len; i++) b[4 + 4 * (size_t)ndim + i] = (uint8_t)(i % 251);
    return b;
}

static tmlp_error last_err;

static tmlp_status parse(const uint8_t *b, size_t n)
{
    tmlp_idx *idx = NULL;
    memset(&last_err, 0, sizeof last_err);
    tmlp_status s = tmlp_idx_parse(b, n, NULL, &idx, &last_err);
    if (s == TMLP_OK) assert_non_null(idx);
    else {
        assert_null(idx);
        assert_int_equal(last_err.code, s);
    }
    tmlp_idx_destroy(idx);
    return s;
}

#define MSG_HAS(sub)                                                                         \
    do {                                                                                     \
        if (!strstr(last_err.message, (sub))) {                                              \
            print_error("message `%s` lacks `%s`\n", last_err.message, (sub));               \
            fail();                                                                          \
        }                                                                                    \
    } while (0)

static const uint32_t DIMS3[3] = {2, 3, 2}; /* 2 images of 3x2: 12 bytes */

static void test_parse_valid(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 12, &n);
    tmlp_idx *idx = NULL;
    assert_int_equal(tmlp_idx_parse(b, n, NULL, &idx, NULL), TMLP_OK);
    assert_int_equal(idx->ndim, 3);
    assert_int_equal(idx->dims[0], 2);
    assert_int_equal(idx->dims[1], 3);
    assert_int_equal(idx->dims[2], 2);
    assert_int_equal(idx->size, 12);
    assert_memory_equal(idx->data, b + 16, 12);
    tmlp_idx_destroy(idx);
    tmlp_idx_destroy(NULL);
    free(b);
    /* 1-D labels and 4-D arrays. */
    const uint32_t d1[1] = {5}, d4[4] = {1, 2, 1, 3};
    b = mk_idx(0x08, 1, d1, 5, &n);
    assert_int_equal(parse(b, n), TMLP_OK);
    free(b);
    b = mk_idx(0x08, 4, d4, 6, &n);
    assert_int_equal(parse(b, n), TMLP_OK);
    free(b);
    /* A zero dimension is a valid, empty IDX array. */
    const uint32_t dz[2] = {0, 784};
    b = mk_idx(0x08, 2, dz, 0, &n);
    assert_int_equal(parse(b, n), TMLP_OK);
    free(b);
}

static void test_parse_truncated(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 12, &n);
    assert_int_equal(parse(b, 0), TMLP_ERR_TRUNCATED);
    assert_int_equal(parse(b, 3), TMLP_ERR_TRUNCATED);
    assert_int_equal(parse(b, 4), TMLP_ERR_TRUNCATED);  /* preamble only */
    assert_int_equal(parse(b, 15), TMLP_ERR_TRUNCATED); /* last dim cut */
    MSG_HAS("16-byte header");
    assert_int_equal(parse(b, n - 1), TMLP_ERR_TRUNCATED); /* data one byte short */
    MSG_HAS("11 bytes");
    MSG_HAS("12");
    free(b);
}

static void test_parse_magic_dtype_ndim(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 12, &n);
    b[0] = 0x01;
    assert_int_equal(parse(b, n), TMLP_ERR_MAGIC);
    b[0] = 0;
    b[1] = 0x08;
    assert_int_equal(parse(b, n), TMLP_ERR_MAGIC);
    b[1] = 0;
    b[2] = 0x0D;
    assert_int_equal(parse(b, n), TMLP_ERR_FORMAT);
    MSG_HAS("0x0d");
    MSG_HAS("float");
    b[2] = 0x09;
    assert_int_equal(parse(b, n), TMLP_ERR_FORMAT);
    MSG_HAS("signed byte");
    b[2] = 0x08;
    b[3] = 0;
    assert_int_equal(parse(b, n), TMLP_ERR_FORMAT);
    MSG_HAS("0 dimensions");
    b[3] = 5;
    assert_int_equal(parse(b, n), TMLP_ERR_FORMAT);
    b[3] = 3;
    assert_int_equal(parse(b, n), TMLP_OK);
    /* The gzip magic on an in-memory buffer is just a bad IDX magic. */
    b[0] = 0x1f;
    b[1] = 0x8b;
    assert_int_equal(parse(b, n), TMLP_ERR_MAGIC);
    free(b);
}

static void test_parse_absurd_dims(void **state)
{
    (void)state;
    size_t n;
    const uint32_t big2[2] = {65536, 32769}; /* 2^31 + 2^16 bytes */
    uint8_t *b = mk_idx(0x08, 2, big2, 0, &n);
    assert_int_equal(parse(b, n), TMLP_ERR_OVERFLOW);
    MSG_HAS("65536x32769");
    free(b);
    const uint32_t max4[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}; /* 2^128 */
    b = mk_idx(0x08, 4, max4, 0, &n);
    assert_int_equal(parse(b, n), TMLP_ERR_OVERFLOW);
    free(b);
    const uint32_t edge[2] = {65536, 32768}; /* exactly 2^31: allowed, so merely truncated */
    b = mk_idx(0x08, 2, edge, 0, &n);
    assert_int_equal(parse(b, n), TMLP_ERR_TRUNCATED);
    free(b);
}

static void test_parse_trailing(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 13, &n); /* one byte more than 2*3*2 */
    assert_int_equal(parse(b, n), TMLP_ERR_FORMAT);
    MSG_HAS("trailing");
    free(b);
}

static void test_parse_args(void **state)
{
    (void)state;
    tmlp_idx *idx = (tmlp_idx *)&last_err;
    assert_int_equal(tmlp_idx_parse(NULL, 4, NULL, &idx, NULL), TMLP_ERR_ARG);
    assert_null(idx);
    uint8_t b[4] = {0};
    assert_int_equal(tmlp_idx_parse(b, 4, NULL, NULL, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_idx_load(NULL, NULL, &idx, NULL), TMLP_ERR_ARG);
}

/* ---- files ------------------------------------------------------------------------- */
/* Each test gets the group's fresh temporary directory (tests/tmpdir.h) as its state. */

static void write_plain(const char *path, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void write_gz(const char *path, const uint8_t *b, size_t n)
{
    gzFile gz = gzopen(path, "wb9");
    assert_non_null(gz);
    if (n) assert_int_equal(gzwrite(gz, b, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

static tmlp_status load(const char *path)
{
    tmlp_idx *idx = NULL;
    memset(&last_err, 0, sizeof last_err);
    tmlp_status s = tmlp_idx_load(path, NULL, &idx, &last_err);
    if (s != TMLP_OK) {
        assert_null(idx);
        assert_int_equal(last_err.code, s);
    }
    tmlp_idx_destroy(idx);
    return s;
}

static void test_load_plain_and_gzip_identical(void **state)
{
    test_tmpdir *t = *state;
    const uint32_t dims[3] = {7, 28, 28};
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, dims, 7 * 28 * 28, &n);
    char plain[512], gz[512];
    test_tmpdir_join(t, "a-idx3-ubyte", plain, sizeof plain);
    test_tmpdir_join(t, "a-idx3-ubyte.gz", gz, sizeof gz);
    write_plain(plain, b, n);
    write_gz(gz, b, n);
    tmlp_idx *p = NULL, *z = NULL;
    assert_int_equal(tmlp_idx_load(plain, NULL, &p, NULL), TMLP_OK);
    assert_int_equal(tmlp_idx_load(gz, NULL, &z, NULL), TMLP_OK);
    assert_int_equal(p->ndim, 3);
    assert_int_equal(z->ndim, 3);
    assert_memory_equal(p->dims, z->dims, sizeof p->dims);
    assert_int_equal(p->dims[0], 7);
    assert_int_equal(p->size, 7 * 28 * 28);
    assert_int_equal(z->size, p->size);
    assert_memory_equal(p->data, b + 16, p->size);
    assert_memory_equal(z->data, b + 16, z->size);
    tmlp_idx_destroy(p);
    tmlp_idx_destroy(z);
    free(b);
}

/* Each malformed file gives the same status plain and compressed. */
static void test_load_malformed_both_ways(void **state)
{
    test_tmpdir *t = *state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 13, &n);
    struct {
        const char *what;
        size_t len;
        tmlp_status want;
    } cases[] = {
        {"empty", 0, TMLP_ERR_TRUNCATED},
        {"preamble cut", 3, TMLP_ERR_TRUNCATED},
        {"dims cut", 10, TMLP_ERR_TRUNCATED},
        {"data cut", 16 + 11, TMLP_ERR_TRUNCATED},
        {"trailing", 16 + 13, TMLP_ERR_FORMAT},
        {"valid", 16 + 12, TMLP_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_plain(test_tmpdir_path(t, "m"), b, cases[i].len);
        tmlp_status s1 = load(test_tmpdir_path(t, "m"));
        write_gz(test_tmpdir_path(t, "m.gz"), b, cases[i].len);
        tmlp_status s2 = load(test_tmpdir_path(t, "m.gz"));
        if (s1 != cases[i].want || s2 != cases[i].want) {
            print_error("%s: plain %d, gzip %d, want %d\n", cases[i].what, s1, s2, cases[i].want);
            fail();
        }
    }
    b[0] = 7;
    write_gz(test_tmpdir_path(t, "magic.gz"), b, 28);
    assert_int_equal(load(test_tmpdir_path(t, "magic.gz")), TMLP_ERR_MAGIC);
    assert_non_null(strstr(last_err.message, "magic.gz"));
    b[0] = 0;
    b[2] = 0x0C;
    write_plain(test_tmpdir_path(t, "dtype"), b, 28);
    assert_int_equal(load(test_tmpdir_path(t, "dtype")), TMLP_ERR_FORMAT);
    b[2] = 0x08;
    b[3] = 9;
    write_gz(test_tmpdir_path(t, "ndim.gz"), b, 28);
    assert_int_equal(load(test_tmpdir_path(t, "ndim.gz")), TMLP_ERR_FORMAT);
    free(b);
    const uint32_t huge[3] = {60000000, 28, 28};
    b = mk_idx(0x08, 3, huge, 0, &n);
    write_gz(test_tmpdir_path(t, "huge.gz"), b, n);
    assert_int_equal(load(test_tmpdir_path(t, "huge.gz")), TMLP_ERR_OVERFLOW);
    free(b);
}

/* A counting allocator that also remembers the largest request. */
static size_t max_request;
static void *max_malloc(void *user, size_t size)
{
    (void)user;
    if (size > max_request) max_request = size;
    return malloc(size);
}
static void max_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static void test_load_gzip_bomb(void **state)
{
    test_tmpdir *t = *state;
    /* Header says 1x10x10 (100 bytes); the stream holds 16 MB of zeros after it. */
    const uint32_t dims[3] = {1, 10, 10};
    size_t n;
    uint8_t *hdr = mk_idx(0x08, 3, dims, 0, &n);
    gzFile gz = gzopen(test_tmpdir_path(t, "bomb.gz"), "wb9");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, hdr, (unsigned)n), (int)n);
    uint8_t *zeros = calloc(1, 1 << 20);
    for (int i = 0; i < 16; i++) assert_int_equal(gzwrite(gz, zeros, 1 << 20), 1 << 20);
    assert_int_equal(gzclose(gz), Z_OK);
    free(zeros);
    free(hdr);

    max_request = 0;
    tmlp_allocator a = {max_malloc, max_free, NULL};
    tmlp_idx *idx = NULL;
    tmlp_error err;
    assert_int_equal(tmlp_idx_load(test_tmpdir_path(t, "bomb.gz"), &a, &idx, &err),
                     TMLP_ERR_FORMAT);
    assert_non_null(strstr(err.message, "trailing"));
    assert_true(max_request <= 100 + sizeof(tmlp_idx)); /* never more than the header says */
}

static void test_load_short_file_claims_a_lot(void **state)
{
    test_tmpdir *t = *state;
    /* 60000x28x28 = 47 MB declared, 100 bytes present: truncated, and memory stays at the
     * first 1 MB read buffer. Plain and gzip alike. */
    const uint32_t dims[3] = {60000, 28, 28};
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, dims, 100, &n);
    write_plain(test_tmpdir_path(t, "liar"), b, n);
    write_gz(test_tmpdir_path(t, "liar.gz"), b, n);
    free(b);
    tmlp_allocator a = {max_malloc, max_free, NULL};
    const char *names[2] = {"liar", "liar.gz"};
    for (int i = 0; i < 2; i++) {
        max_request = 0;
        tmlp_idx *idx = NULL;
        tmlp_error err;
        assert_int_equal(tmlp_idx_load(test_tmpdir_path(t, names[i]), &a, &idx, &err),
                         TMLP_ERR_TRUNCATED);
        assert_non_null(strstr(err.message, "100 bytes"));
        assert_non_null(strstr(err.message, "47040000"));
        assert_true(max_request <= (1u << 20));
    }
    /* A file large enough to need several doublings loads exactly. */
    const uint32_t d2[2] = {3, 1000000};
    b = mk_idx(0x08, 2, d2, 3000000, &n);
    write_gz(test_tmpdir_path(t, "big.gz"), b, n);
    tmlp_idx *idx = NULL;
    assert_int_equal(tmlp_idx_load(test_tmpdir_path(t, "big.gz"), NULL, &idx, NULL), TMLP_OK);
    assert_int_equal(idx->size, 3000000);
    assert_memory_equal(idx->data, b + 12, 3000000);
    tmlp_idx_destroy(idx);
    free(b);
}

static void test_load_corrupt_gzip(void **state)
{
    test_tmpdir *t = *state;
    const uint32_t dims[3] = {4, 28, 28};
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, dims, 4 * 28 * 28, &n);
    write_gz(test_tmpdir_path(t, "c.gz"), b, n);
    free(b);
    FILE *fp = fopen(test_tmpdir_path(t, "c.gz"), "rb");
    assert_non_null(fp);
    uint8_t buf[8192];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(len > 40);

    /* Flip bytes in the deflate stream: zlib reports a data error or a CRC mismatch. */
    uint8_t *bad = malloc(len);
    memcpy(bad, buf, len);
    for (size_t i = 12; i < 24; i++) bad[i] ^= 0xA5;
    write_plain(test_tmpdir_path(t, "flip.gz"), bad, len);
    assert_int_equal(load(test_tmpdir_path(t, "flip.gz")), TMLP_ERR_IO);
    assert_non_null(strstr(last_err.message, "flip.gz"));
    /* Only the CRC-32 trailer damaged. */
    memcpy(bad, buf, len);
    bad[len - 8] ^= 0xFF;
    write_plain(test_tmpdir_path(t, "crc.gz"), bad, len);
    assert_int_equal(load(test_tmpdir_path(t, "crc.gz")), TMLP_ERR_IO);
    /* The stream cut in the middle. */
    write_plain(test_tmpdir_path(t, "cut.gz"), buf, len / 2);
    assert_int_equal(load(test_tmpdir_path(t, "cut.gz")), TMLP_ERR_IO);
    /* Just the gzip magic. */
    write_plain(test_tmpdir_path(t, "magic-only.gz"), buf, 2);
    tmlp_status s = load(test_tmpdir_path(t, "magic-only.gz"));
    assert_true(s == TMLP_ERR_IO || s == TMLP_ERR_TRUNCATED);
    free(bad);
}

static void test_load_io_errors(void **state)
{
    test_tmpdir *t = *state;
    assert_int_equal(load(test_tmpdir_path(t, "does-not-exist")), TMLP_ERR_IO);
    assert_non_null(strstr(last_err.message, "does-not-exist"));
    assert_non_null(strstr(last_err.message, "No such file"));
    assert_int_equal(load(t->dir), TMLP_ERR_IO);
    assert_non_null(strstr(last_err.message, "directory"));
}

static void test_load_oom(void **state)
{
    test_tmpdir *t = *state;
    size_t n;
    uint8_t *b = mk_idx(0x08, 3, DIMS3, 12, &n);
    write_gz(test_tmpdir_path(t, "oom.gz"), b, n);
    free(b);
    test_alloc ta;
    tmlp_allocator a = test_alloc_hook(&ta);
    tmlp_idx *idx = NULL;
    test_alloc_init(&ta, -1);
    assert_int_equal(tmlp_idx_load(test_tmpdir_path(t, "oom.gz"), &a, &idx, NULL), TMLP_OK);
    tmlp_idx_destroy(idx);
    long total = ta.calls;
    assert_int_equal(total, 2);
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        assert_int_equal(tmlp_idx_load(test_tmpdir_path(t, "oom.gz"), &a, &idx, NULL),
                         TMLP_ERR_NOMEM);
        assert_null(idx);
        assert_int_equal(ta.allocs, ta.frees);
        test_alloc_init(&ta, k);
        b = mk_idx(0x08, 3, DIMS3, 12, &n);
        assert_int_equal(tmlp_idx_parse(b, n, &a, &idx, NULL), TMLP_ERR_NOMEM);
        assert_int_equal(ta.allocs, ta.frees);
        free(b);
    }
}

/* Every seed of the fuzzer's corpus (fuzz/corpus/idx/, plus any crash inputs added there
 * as regression cases) parses without error, except files named bad_* which must fail
 * cleanly. Skipped outside `meson test` (TMLP_FIXTURES unset). */
static void test_fuzz_corpus(void **state)
{
    (void)state;
    test_corpus_replay("idx", parse, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_magic_dtype_ndim),
        cmocka_unit_test(test_parse_absurd_dims),
        cmocka_unit_test(test_parse_trailing),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_load_plain_and_gzip_identical),
        cmocka_unit_test(test_load_malformed_both_ways),
        cmocka_unit_test(test_load_gzip_bomb),
        cmocka_unit_test(test_load_short_file_claims_a_lot),
        cmocka_unit_test(test_load_corrupt_gzip),
        cmocka_unit_test(test_load_io_errors),
        cmocka_unit_test(test_load_oom),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
