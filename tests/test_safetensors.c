/* test_safetensors.c — the safetensors reader and writer (src/io/safetensors.c).
 *
 * Byte-level files are built in memory: [u64 LE N][header][data]. Every validation rule of
 * docs/formats.md (safetensors) has a case with its exact status, including the
 * reference implementation's own byte-level cases; then conversions (F16/BF16 values
 * checked against their IEEE definitions), the writer's round trip, file errors and
 * out-of-memory at every allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "corpus.h"
#include "tmpdir.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------- */

/* A file [n as u64 LE][hdr_len header bytes][data_len data bytes]; n given separately so
 * tests can lie about it. Caller frees. */
static unsigned char *mk_raw(uint64_t n, const char *hdr, size_t hdr_len, const void *data,
                             size_t data_len, size_t *size)
{
    *size = 8 + hdr_len + data_len;
    unsigned char *b = malloc(*size ? *size : 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
    if (hdr_len) memcpy(b + 8, hdr, hdr_len);
    if (data_len) {
        if (data) memcpy(b + 8 + hdr_len, data, data_len);
        else memset(b + 8 + hdr_len, 0, data_len);
    }
    return b;
}

/* The common case: honest header length, `data_len` zero bytes (or `data`). */
static unsigned char *mk(const char *hdr, const void *data, size_t data_len, size_t *size)
{
    return mk_raw(strlen(hdr), hdr, strlen(hdr), data, data_len, size);
}

/* Parse and return the status; on success the file is freed. The error message is kept in
 * `last_err` so a test can check it names the tensor. */
static tmlp_error last_err;

static tmlp_status parse(const unsigned char *b, size_t size)
{
    tmlp_st_file *f = NULL;
    memset(&last_err, 0, sizeof last_err);
    tmlp_status s = tmlp_st_parse(b, size, 0, NULL, &f, &last_err);
    if (s == TMLP_OK) assert_non_null(f);
    else {
        assert_null(f);
        assert_int_equal(last_err.code, s);
        assert_true(strlen(last_err.message) > 0);
    }
    tmlp_st_free(f);
    return s;
}

static tmlp_status parse_hdr(const char *hdr, size_t data_len)
{
    size_t size;
    unsigned char *b = mk(hdr, NULL, data_len, &size);
    tmlp_status s = parse(b, size);
    free(b);
    return s;
}

#define MSG_HAS(sub)                                                                         \
    do {                                                                                     \
        if (!strstr(last_err.message, (sub))) {                                              \
            print_error("message `%s` lacks `%s`\n", last_err.message, (sub));               \
            fail();                                                                          \
        }                                                                                    \
    } while (0)

static const char *REF_HDR = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";

/* ---- the reference implementation's byte-level cases ---------------------------------- */

static void test_ref_valid_i32(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk(REF_HDR, NULL, 16, &size);
    assert_int_equal(b[0], 0x3c); /* the reference file's header length */
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    assert_int_equal(f->n_tensors, 1);
    const tmlp_st_tensor *t = tmlp_st_find(f, "test");
    assert_non_null(t);
    assert_int_equal(t->dtype, TMLP_ST_I32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 2);
    assert_int_equal(t->numel, 4);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 16);
    assert_ptr_equal(t->data, f->bytes + 8 + 0x3c);
    assert_null(tmlp_st_find(f, "nope"));
    tmlp_st_free(f);
    free(b);
}

static void test_ref_valid_empty_padded(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{}      ", 0), TMLP_OK);
    assert_int_equal(parse_hdr("\r \t\n{}\r \t\n", 0), TMLP_OK); /* whitespace both sides */
}

static void test_ref_valid_metadata_only(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk("{\"__metadata__\":{\"framework\":\"pt\"}}", NULL, 0, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    assert_int_equal(f->n_tensors, 0);
    assert_int_equal(f->n_meta, 1);
    assert_string_equal(tmlp_st_meta_get(f, "framework"), "pt");
    assert_null(tmlp_st_meta_get(f, "other"));
    tmlp_st_free(f);
    free(b);
}

static void test_ref_valid_zero_size_and_rank0(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk("{\"z\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
                          "\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}",
                          "\x07\x00\x00\x00", 4, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    const tmlp_st_tensor *z = tmlp_st_find(f, "z"), *s = tmlp_st_find(f, "s");
    assert_int_equal(z->numel, 0);
    assert_int_equal(s->ndim, 0);
    assert_int_equal(s->numel, 1);
    assert_int_equal(s->data[0], 7);
    float tmp = -1;
    assert_int_equal(tmlp_st_to_f32(z, &tmp, NULL), TMLP_OK); /* nothing written */
    assert_true(tmp == -1.0f);
    tmlp_st_free(f);
    free(b);
    /* Each on its own, as in the reference tests. */
    assert_int_equal(parse_hdr("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]}}", 0),
                     TMLP_OK);
    assert_int_equal(parse_hdr("{\"t\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4),
                     TMLP_OK);
}

static void test_ref_incomplete(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk(REF_HDR, NULL, 17, &size); /* one trailing byte */
    assert_int_equal(parse(b, size), TMLP_ERR_INCOMPLETE);
    MSG_HAS("trailing");
    assert_int_equal(parse(b, size - 3), TMLP_ERR_INCOMPLETE); /* 2 bytes short */
    MSG_HAS("truncated");
    free(b);
}

static void test_ref_too_large(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk(REF_HDR, NULL, 16, &size);
    const unsigned char n[8] = {0x3c, 0, 0, 0, 0, 0xff, 0xff, 0xff};
    memcpy(b, n, 8);
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_TOO_LARGE);
    /* Just above the 100,000,000-byte limit. */
    free(b);
    b = mk_raw(100000001ULL, "{}", 2, NULL, 0, &size);
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_TOO_LARGE);
    free(b);
}

static void test_ref_too_small(void **state)
{
    (void)state;
    unsigned char b[8] = {0};
    assert_int_equal(parse(b, 0), TMLP_ERR_HEADER_TOO_SMALL);
    assert_int_equal(parse(b, 7), TMLP_ERR_HEADER_TOO_SMALL);
}

static void test_ref_header_length(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk_raw(0x3c, "", 0, NULL, 0, &size); /* N = 0x3c, no header bytes */
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_LENGTH);
    free(b);
    b = mk_raw(100000000ULL, "{}", 2, NULL, 0, &size); /* at the limit, but past the file */
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_LENGTH);
    free(b);
}

static void test_ref_not_utf8(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("\xff", 0), TMLP_ERR_HEADER_UTF8);
    MSG_HAS("byte 0");
}

static void test_ref_bad_json(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{", 0), TMLP_ERR_HEADER_JSON);
}

static void test_ref_tensor_info(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4),
                     TMLP_ERR_TENSOR_INFO);
    MSG_HAS("test");
    MSG_HAS("need 16");
}

static void test_ref_overflow(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,18446744073709551614],"
                               "\"data_offsets\":[0,16]}}", 16),
                     TMLP_ERR_OVERFLOW);
    MSG_HAS("test");
    assert_int_equal(parse_hdr("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,9223372036854775807],"
                               "\"data_offsets\":[0,16]}}", 16),
                     TMLP_ERR_OVERFLOW);
    /* Every dimension <= 2^53 but the product overflows 64 bits. */
    assert_int_equal(parse_hdr("{\"t\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
                               "\"data_offsets\":[0,0]}}", 0),
                     TMLP_ERR_OVERFLOW);
    /* numel fits but numel * 64 bits does not. */
    assert_int_equal(parse_hdr("{\"t\":{\"dtype\":\"F64\",\"shape\":[1152921504606846976],"
                               "\"data_offsets\":[0,0]}}", 0),
                     TMLP_ERR_OVERFLOW);
}

static void test_ref_ten_tensors_same_offsets(void **state)
{
    (void)state;
    char hdr[1024];
    size_t len = 0;
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "{");
    for (int i = 0; i < 10; i++)
        len += (size_t)snprintf(hdr + len, sizeof hdr - len,
                                "%s\"t%d\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}",
                                i ? "," : "", i);
    snprintf(hdr + len, sizeof hdr - len, "}");
    assert_int_equal(parse_hdr(hdr, 16), TMLP_ERR_OFFSET);
    MSG_HAS("overlap");
}

/* ---- more rules -------------------------------------------------------------------- */

static void test_duplicate_keys(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                               "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2),
                     TMLP_ERR_DUPLICATE);
    MSG_HAS("`a`");
    /* Duplicates far apart, among many names, are found too. */
    assert_int_equal(parse_hdr("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                               "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                               "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
                               "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}", 4),
                     TMLP_ERR_DUPLICATE);
    MSG_HAS("`x`");
    assert_int_equal(parse_hdr("{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}}", 0),
                     TMLP_ERR_HEADER_JSON);
    assert_int_equal(parse_hdr("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0),
                     TMLP_ERR_HEADER_JSON);
}

static void test_metadata_shape(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"__metadata__\":{\"n\":1}}", 0), TMLP_ERR_HEADER_JSON);
    MSG_HAS("`n`");
    assert_int_equal(parse_hdr("{\"__metadata__\":{\"n\":null}}", 0), TMLP_ERR_HEADER_JSON);
    assert_int_equal(parse_hdr("{\"__metadata__\":\"x\"}", 0), TMLP_ERR_HEADER_JSON);
    assert_int_equal(parse_hdr("{\"__metadata__\":{\"dtype\":\"U8\",\"shape\":[1],"
                               "\"data_offsets\":[0,1]}}", 1),
                     TMLP_ERR_HEADER_JSON);
    MSG_HAS("may not be named __metadata__");
}

static void test_json_shape_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",                                /* empty header */
        "   ",                             /* only whitespace */
        "[]",                              /* not an object */
        "{} x",                            /* trailing non-whitespace */
        "{}{}",
        "{\"a\":1}",                       /* entry not an object */
        "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}",          /* no dtype */
        "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}",       /* no shape */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}",                /* no data_offsets */
        "{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}",  /* unknown dtype */
        "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", /* case matters */
        "{\"a\":{\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}",  /* negative */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", /* fractional */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.5]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", /* three numbers */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}",
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,9007199254740994]}}", /* > 2^53 */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e400]}}",              /* inf */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}",  /* leading zero */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.],\"data_offsets\":[0,1]}}",  /* bare dot */
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},}", /* trailing comma */
        "{\"a\x01\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", /* raw control */
        "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", /* NUL escape */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tmlp_status s = parse_hdr(bad[i], 1);
        if (s != TMLP_ERR_HEADER_JSON) {
            print_error("case %zu `%s`: got %d\n", i, bad[i], s);
            fail();
        }
    }
    /* A NUL byte inside the header. */
    size_t size;
    unsigned char *b = mk_raw(4, "{}\0 ", 4, NULL, 0, &size);
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_JSON);
    MSG_HAS("NUL");
    free(b);
    /* Unknown fields are ignored, 2^53 itself is allowed, and "1.0" counts as 1. */
    assert_int_equal(parse_hdr("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
                               "\"extra\":[1.5,{\"x\":null}]}}", 1),
                     TMLP_OK);
    assert_int_equal(parse_hdr("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1),
                     TMLP_OK);
    /* Other escapes decode: "\u00e9" is the same name as the raw UTF-8 bytes. */
    size_t size2;
    unsigned char *b2 = mk("{\"caf\\u00e9\\n\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                           NULL, 1, &size2);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b2, size2, 0, NULL, &f, NULL), TMLP_OK);
    assert_non_null(tmlp_st_find(f, "caf\xc3\xa9\n"));
    tmlp_st_free(f);
    free(b2);
}

static void test_utf8_rules(void **state)
{
    (void)state;
    /* Valid multi-byte names (2, 3 and 4 bytes) parse. */
    size_t size;
    unsigned char *b = mk("{\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\":{\"dtype\":\"U8\","
                          "\"shape\":[1],\"data_offsets\":[0,1]}}", NULL, 1, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    assert_non_null(tmlp_st_find(f, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    tmlp_st_free(f);
    free(b);
    static const char *bad[] = {
        "{\"\xc0\xaf\":1}",          /* overlong '/' */
        "{\"\xe0\x80\xaf\":1}",      /* overlong, 3 bytes */
        "{\"\xf0\x80\x80\xaf\":1}",  /* overlong, 4 bytes */
        "{\"\xed\xa0\x80\":1}",      /* surrogate U+D800 */
        "{\"\xf4\x90\x80\x80\":1}",  /* U+110000 */
        "{\"\xf5\x80\x80\x80\":1}",
        "{\"\x80\":1}",              /* lone continuation */
        "{\"\xc3\":1}",              /* truncated sequence */
        "{\"\xe2\x82\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tmlp_status s = parse_hdr(bad[i], 0);
        if (s != TMLP_ERR_HEADER_UTF8) {
            print_error("case %zu: got %d\n", i, s);
            fail();
        }
    }
    /* A sequence cut by the end of the header. */
    b = mk_raw(3, "{}\xc3\xa9", 3, NULL, 0, &size); /* header "{}\xc3", then data "" */
    assert_int_equal(parse(b, size), TMLP_ERR_HEADER_UTF8);
    MSG_HAS("byte 2");
    free(b);
}

static void test_offsets_gap_overlap_reversed(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"first\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                               "\"gappy\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", 3),
                     TMLP_ERR_OFFSET);
    MSG_HAS("gappy");
    MSG_HAS("gap");
    assert_int_equal(parse_hdr("{\"first\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                               "\"over\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3),
                     TMLP_ERR_OFFSET);
    MSG_HAS("over");
    MSG_HAS("overlap");
    assert_int_equal(parse_hdr("{\"late\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2),
                     TMLP_ERR_OFFSET); /* first tensor must start at 0 */
    MSG_HAS("late");
    assert_int_equal(parse_hdr("{\"rev\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                               "\"back\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1),
                     TMLP_ERR_OFFSET);
    /* Header order does not matter: offsets are sorted first. */
    assert_int_equal(parse_hdr("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                               "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 2),
                     TMLP_OK);
}

static void test_misaligned_f4(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"q\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2),
                     TMLP_ERR_MISALIGNED);
    MSG_HAS("q");
    assert_int_equal(parse_hdr("{\"q\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2),
                     TMLP_OK);
    assert_int_equal(parse_hdr("{\"q\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[0,3]}}", 3),
                     TMLP_OK);
    assert_int_equal(parse_hdr("{\"q\":{\"dtype\":\"F6_E3M2\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2),
                     TMLP_ERR_MISALIGNED);
}

static void test_rank_limit(void **state)
{
    (void)state;
    assert_int_equal(parse_hdr("{\"r\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],"
                               "\"data_offsets\":[0,1]}}", 1),
                     TMLP_OK);
    assert_int_equal(parse_hdr("{\"r\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                               "\"data_offsets\":[0,1]}}", 1),
                     TMLP_ERR_UNSUPPORTED);
}

static void test_all_dtypes_parse(void **state)
{
    (void)state;
    static const char *names[] = {"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16",
                                  "I32", "U32", "F32", "F64", "I64", "U64", "C64",
                                  "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0"};
    for (int d = 0; d < 20; d++) {
        assert_string_equal(tmlp_st_dtype_name((tmlp_st_dtype)d), names[d]);
        int bits = tmlp_st_dtype_bits((tmlp_st_dtype)d);
        char hdr[160];
        snprintf(hdr, sizeof hdr, "{\"t\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%d]}}",
                 names[d], bits);
        assert_int_equal(parse_hdr(hdr, (size_t)bits), TMLP_OK);
    }
    assert_int_equal(tmlp_st_dtype_bits((tmlp_st_dtype)99), 0);
}

/* ---- conversion ------------------------------------------------------------------------ */

static void test_unaligned_f32(void **state)
{
    (void)state;
    /* A 1-byte U8 tensor first puts the F32 tensor at data offset 1 (and the data block
     * itself at 8 + N with N odd): the reader must copy, not cast. */
    const float vals[3] = {1.5f, -2.25f, 3e38f};
    unsigned char data[13];
    data[0] = 200;
    memcpy(data + 1, vals, sizeof vals);
    size_t size;
    unsigned char *b = mk("{\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                          "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}} ",
                          data, sizeof data, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    const tmlp_st_tensor *w = tmlp_st_find(f, "w");
    assert_true(((uintptr_t)w->data & 3) != 0);
    float got[3];
    assert_int_equal(tmlp_st_to_f32(w, got, NULL), TMLP_OK);
    assert_int_equal(check_tensor("w", got, vals, 3, 0, 0), 0);
    float u;
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "u"), &u, NULL), TMLP_OK);
    assert_true(u == 200.0f);
    tmlp_st_free(f);
    free(b);
}

static void test_f16_bf16_values(void **state)
{
    (void)state;
    /* F16 bit patterns (IEEE binary16) and their exact values. */
    const uint16_t h[] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00,
                          0x7e00, 0x3555};
    const float hv[] = {1.0f, -2.5f, 65504.0f, 5.9604644775390625e-8f /* 2^-24 */,
                        6.0975551605224609375e-5f /* 1023 * 2^-24 */, 6.103515625e-5f /* 2^-14 */,
                        -0.0f, INFINITY, -INFINITY, NAN, 0.333251953125f};
    /* BF16 = top 16 bits of a binary32. */
    const uint16_t bf[] = {0x3f80, 0xc020, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x4049};
    const float bv[] = {1.0f, -2.5f, INFINITY, -INFINITY, NAN, 9.18354961579912115600575e-41f,
                        3.140625f};
    enum { NH = sizeof h / sizeof h[0], NB = sizeof bf / sizeof bf[0] };
    unsigned char data[2 * (NH + NB)];
    for (int i = 0; i < NH; i++) { data[2 * i] = (unsigned char)h[i]; data[2 * i + 1] = (unsigned char)(h[i] >> 8); }
    for (int i = 0; i < NB; i++) { data[2 * (NH + i)] = (unsigned char)bf[i]; data[2 * (NH + i) + 1] = (unsigned char)(bf[i] >> 8); }
    char hdr[256];
    snprintf(hdr, sizeof hdr, "{\"h\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[%d],\"data_offsets\":[%d,%d]}}",
             NH, 2 * NH, NB, 2 * NH, 2 * (NH + NB));
    size_t size;
    unsigned char *file = mk(hdr, data, sizeof data, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(file, size, 0, NULL, &f, NULL), TMLP_OK);
    float got[NH > NB ? NH : NB];
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "h"), got, NULL), TMLP_OK);
    for (int i = 0; i < NH; i++) {
        if (isnan(hv[i])) assert_true(isnan(got[i]));
        else {
            assert_true(got[i] == hv[i]);
            assert_int_equal(signbit(got[i]) != 0, signbit(hv[i]) != 0);
        }
    }
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "b"), got, NULL), TMLP_OK);
    for (int i = 0; i < NB; i++) {
        if (isnan(bv[i])) assert_true(isnan(got[i]));
        else assert_true(got[i] == bv[i]);
    }
    tmlp_st_free(f);
    free(file);
}

static void test_to_f32_unsupported_and_args(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk(REF_HDR, NULL, 16, &size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, &f, NULL), TMLP_OK);
    float out[4];
    tmlp_error err;
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "test"), out, &err), TMLP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "I32"));
    assert_int_equal(tmlp_st_to_f32(NULL, out, NULL), TMLP_ERR_ARG);
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "test"), NULL, NULL), TMLP_ERR_ARG);
    tmlp_st_free(f);
    tmlp_st_file *g = (tmlp_st_file *)&size; /* must be overwritten with NULL */
    assert_int_equal(tmlp_st_parse(NULL, 10, 0, NULL, &g, NULL), TMLP_ERR_ARG);
    assert_null(g);
    assert_int_equal(tmlp_st_parse(b, size, 0, NULL, NULL, NULL), TMLP_ERR_ARG);
    tmlp_st_free(NULL); /* accepted */
    free(b);
}

/* ---- ownership, allocation --------------------------------------------------------- */

static void test_take_ownership(void **state)
{
    (void)state;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    size_t size;
    unsigned char *tmp = mk(REF_HDR, NULL, 16, &size);
    /* Success: the buffer is adopted, not copied. */
    unsigned char *b = a.malloc_fn(a.user, size);
    memcpy(b, tmp, size);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 1, &a, &f, NULL), TMLP_OK);
    assert_ptr_equal(f->bytes, b);
    tmlp_st_free(f);
    /* Failure: the buffer is freed. */
    b = a.malloc_fn(a.user, size);
    memcpy(b, tmp, size);
    assert_int_equal(tmlp_st_parse(b, size - 1, 1, &a, &f, NULL), TMLP_ERR_INCOMPLETE);
    b = a.malloc_fn(a.user, 4);
    assert_int_equal(tmlp_st_parse(b, 4, 1, &a, &f, NULL), TMLP_ERR_HEADER_TOO_SMALL);
    assert_int_equal(ta.allocs, ta.frees);
    free(tmp);
}

static void test_oom_every_allocation(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = mk("{\"__metadata__\":{\"k1\":\"v1\",\"k2\":\"v2\"},"
                          "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                          "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                          NULL, 2, &size);
    /* Count the allocations of a successful parse, then fail each one in turn. */
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_parse(b, size, 0, &a, &f, NULL), TMLP_OK);
    tmlp_st_free(f);
    long total = ta.calls;
    assert_true(total >= 8);
    assert_int_equal(ta.allocs, ta.frees);
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        tmlp_error err;
        assert_int_equal(tmlp_st_parse(b, size, 0, &a, &f, &err), TMLP_ERR_NOMEM);
        assert_null(f);
        assert_int_equal(ta.failed, 1);
        assert_int_equal(ta.allocs, ta.frees);
    }
    free(b);
}

/* ---- files ------------------------------------------------------------------------- */

static void write_file(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void test_write_roundtrip(void **state)
{
    test_tmpdir *tmp = *state;
    const char *path = test_tmpdir_path(tmp, "rt.safetensors");
    const float w[6] = {1, -2, 3.5f, 1e-30f, -0.0f, 65504};
    const float bias[3] = {0.25f, -0.5f, 7};
    const uint8_t odd[3] = {1, 2, 3};
    const uint16_t half[2] = {0x3c00, 0xc100};
    tmlp_st_write_tensor t[5] = {
        {"0.weight", TMLP_ST_F32, 2, {3, 2}, w},
        {"odd \"name\"\n", TMLP_ST_U8, 1, {3}, odd}, /* escapes; leaves the rest unaligned */
        {"0.bias", TMLP_ST_F32, 1, {3}, bias},
        {"empty", TMLP_ST_F32, 2, {0, 5}, NULL},
        {"h", TMLP_ST_F16, 1, {2}, half},
    };
    tmlp_st_meta meta[2] = {{"tinymlp.layers", "linear,softmax"}, {"quote\"key", "tab\tvalue"}};
    tmlp_error err;
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    assert_int_equal(tmlp_st_write(path, t, 5, meta, 2, &a, &err), TMLP_OK);
    assert_int_equal(ta.allocs, ta.frees);

    tmlp_st_file *f = NULL;
    assert_int_equal(tmlp_st_read(path, &a, &f, &err), TMLP_OK);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)f->bytes[i] << (8 * i);
    assert_int_equal(n % 8, 0);
    assert_int_equal(f->n_tensors, 5);
    for (int i = 0; i < 5; i++) assert_string_equal(f->tensors[i].name, t[i].name); /* order kept */
    assert_string_equal(tmlp_st_meta_get(f, "tinymlp.layers"), "linear,softmax");
    assert_string_equal(tmlp_st_meta_get(f, "quote\"key"), "tab\tvalue");
    float got[6];
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "0.weight"), got, NULL), TMLP_OK);
    assert_memory_equal(got, w, sizeof w); /* bit-exact, -0.0 included */
    assert_int_equal(tmlp_st_find(f, "0.weight")->shape[0], 3);
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "0.bias"), got, NULL), TMLP_OK);
    assert_memory_equal(got, bias, sizeof bias);
    assert_memory_equal(tmlp_st_find(f, "odd \"name\"\n")->data, odd, 3);
    assert_int_equal(tmlp_st_find(f, "empty")->numel, 0);
    assert_int_equal(tmlp_st_to_f32(tmlp_st_find(f, "h"), got, NULL), TMLP_OK);
    assert_true(got[0] == 1.0f && got[1] == -2.5f);
    tmlp_st_free(f);
    assert_int_equal(ta.allocs, ta.frees);

    /* No tensors, no metadata: "{}" padded to 8. */
    assert_int_equal(tmlp_st_write(path, NULL, 0, NULL, 0, NULL, &err), TMLP_OK);
    assert_int_equal(tmlp_st_read(path, NULL, &f, &err), TMLP_OK);
    assert_int_equal(f->size, 16);
    assert_int_equal(f->n_tensors, 0);
    tmlp_st_free(f);
}

static void test_write_errors(void **state)
{
    test_tmpdir *tmp = *state;
    const char *path = test_tmpdir_path(tmp, "w.safetensors");
    const float x[2] = {0};
    tmlp_st_write_tensor dup[2] = {{"a", TMLP_ST_F32, 1, {1}, x}, {"a", TMLP_ST_F32, 1, {1}, x}};
    tmlp_error err;
    assert_int_equal(tmlp_st_write(path, dup, 2, NULL, 0, NULL, &err), TMLP_ERR_DUPLICATE);
    tmlp_st_write_tensor meta_name = {"__metadata__", TMLP_ST_F32, 1, {1}, x};
    assert_int_equal(tmlp_st_write(path, &meta_name, 1, NULL, 0, NULL, &err), TMLP_ERR_ARG);
    tmlp_st_write_tensor f4 = {"q", TMLP_ST_F4, 1, {3}, x};
    assert_int_equal(tmlp_st_write(path, &f4, 1, NULL, 0, NULL, &err), TMLP_ERR_MISALIGNED);
    tmlp_st_write_tensor nodata = {"n", TMLP_ST_F32, 1, {2}, NULL};
    assert_int_equal(tmlp_st_write(path, &nodata, 1, NULL, 0, NULL, &err), TMLP_ERR_ARG);
    assert_int_equal(tmlp_st_write(NULL, NULL, 0, NULL, 0, NULL, &err), TMLP_ERR_ARG);
    tmlp_st_write_tensor ok = {"a", TMLP_ST_F32, 1, {2}, x};
    assert_int_equal(tmlp_st_write("/nonexistent-dir/x.safetensors", &ok, 1, NULL, 0, NULL, &err),
                     TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "No such file"));
    assert_int_equal(tmlp_st_write(tmp->dir, &ok, 1, NULL, 0, NULL, &err), TMLP_ERR_IO);
    /* /dev/full accepts open but every write fails with ENOSPC. */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(tmlp_st_write("/dev/full", &ok, 1, NULL, 0, NULL, &err), TMLP_ERR_IO);
    }
    /* Out of memory at each allocation of the writer. */
    test_alloc ta;
    for (long k = 0; k < 2; k++) {
        test_alloc_init(&ta, k);
        tmlp_allocator a = test_alloc_hook(&ta);
        assert_int_equal(tmlp_st_write(path, &ok, 1, NULL, 0, &a, &err), TMLP_ERR_NOMEM);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

static void test_read_files(void **state)
{
    test_tmpdir *tmp = *state;
    tmlp_st_file *f = NULL;
    tmlp_error err;
    const char *path = test_tmpdir_path(tmp, "missing.safetensors");
    assert_int_equal(tmlp_st_read(path, NULL, &f, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "missing.safetensors"));
    assert_null(f);
    assert_int_equal(tmlp_st_read(tmp->dir, NULL, &f, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "directory"));
    assert_int_equal(tmlp_st_read(NULL, NULL, &f, &err), TMLP_ERR_ARG);

    /* Rules 1-3 fire from the 8-byte prefix, and the path is in the message. */
    size_t size;
    unsigned char *b = mk(REF_HDR, NULL, 16, &size);
    path = test_tmpdir_path(tmp, "small.safetensors");
    write_file(path, b, 5);
    assert_int_equal(tmlp_st_read(path, NULL, &f, &err), TMLP_ERR_HEADER_TOO_SMALL);
    assert_non_null(strstr(err.message, "small.safetensors"));
    path = test_tmpdir_path(tmp, "short.safetensors");
    write_file(path, b, 20);
    assert_int_equal(tmlp_st_read(path, NULL, &f, &err), TMLP_ERR_HEADER_LENGTH);
    path = test_tmpdir_path(tmp, "trunc.safetensors");
    write_file(path, b, size - 1);
    assert_int_equal(tmlp_st_read(path, NULL, &f, &err), TMLP_ERR_INCOMPLETE);
    assert_non_null(strstr(err.message, "trunc.safetensors"));
    path = test_tmpdir_path(tmp, "ok.safetensors");
    write_file(path, b, size);
    test_alloc ta;
    test_alloc_init(&ta, -1);
    tmlp_allocator a = test_alloc_hook(&ta);
    assert_int_equal(tmlp_st_read(path, &a, &f, &err), TMLP_OK);
    assert_int_equal(f->n_tensors, 1);
    tmlp_st_free(f);
    long total = ta.calls;
    assert_int_equal(ta.allocs, ta.frees);
    for (long k = 0; k < total; k++) {
        test_alloc_init(&ta, k);
        assert_int_equal(tmlp_st_read(path, &a, &f, &err), TMLP_ERR_NOMEM);
        assert_int_equal(ta.allocs, ta.frees);
    }
    free(b);
}

/* Every seed of the fuzzer's corpus (fuzz/corpus/safetensors/, plus any crash inputs added there
 * as regression cases) parses without error, except files named bad_* which must fail
 * cleanly. Skipped outside `meson test` (TMLP_FIXTURES unset). */
static void test_fuzz_corpus(void **state)
{
    (void)state;
    test_corpus_replay("safetensors", parse, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_valid_i32),
        cmocka_unit_test(test_ref_valid_empty_padded),
        cmocka_unit_test(test_ref_valid_metadata_only),
        cmocka_unit_test(test_ref_valid_zero_size_and_rank0),
        cmocka_unit_test(test_ref_incomplete),
        cmocka_unit_test(test_ref_too_large),
        cmocka_unit_test(test_ref_too_small),
        cmocka_unit_test(test_ref_header_length),
        cmocka_unit_test(test_ref_not_utf8),
        cmocka_unit_test(test_ref_bad_json),
        cmocka_unit_test(test_ref_tensor_info),
        cmocka_unit_test(test_ref_overflow),
        cmocka_unit_test(test_ref_ten_tensors_same_offsets),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_metadata_shape),
        cmocka_unit_test(test_json_shape_errors),
        cmocka_unit_test(test_utf8_rules),
        cmocka_unit_test(test_offsets_gap_overlap_reversed),
        cmocka_unit_test(test_misaligned_f4),
        cmocka_unit_test(test_rank_limit),
        cmocka_unit_test(test_all_dtypes_parse),
        cmocka_unit_test(test_unaligned_f32),
        cmocka_unit_test(test_f16_bf16_values),
        cmocka_unit_test(test_to_f32_unsupported_and_args),
        cmocka_unit_test(test_take_ownership),
        cmocka_unit_test(test_oom_every_allocation),
        cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_read_files),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
