/* fuzz_safetensors.c — libFuzzer target for the safetensors parser.
 *
 * Feeds the input to tmlp_st_parse as a whole file. When it parses, checks the invariants
 * the rest of the library relies on (every tensor's bytes lie inside the data block and
 * agree with numel and the dtype; lookups by name find a tensor of that name) and widens
 * every F32/F16/BF16/U8 tensor with tmlp_st_to_f32. A violated invariant calls
 * __builtin_trap so libFuzzer records the input; ASan and UBSan catch the rest.
 *
 * Build and run: scripts/fuzz.sh safetensors SECONDS
 */
#include "io/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) __builtin_trap();                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tmlp_st_file *f = NULL;
    tmlp_error err;
    tmlp_status s = tmlp_st_parse(data, size, 0, NULL, &f, &err);
    if (s != TMLP_OK) {
        CHECK(f == NULL && s < 0 && err.code == s && err.message[0] != '\0');
        return 0;
    }
    CHECK(f != NULL && f->size == size);
    CHECK(memcmp(f->bytes, data, size) == 0);
    const unsigned char *block_end = f->bytes + f->size;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        const tmlp_st_tensor *t = &f->tensors[i];
        CHECK(t->ndim >= 0 && t->ndim <= TMLP_ST_MAX_DIMS);
        CHECK(t->end >= t->begin);
        CHECK(t->data >= f->data && t->data + (t->end - t->begin) <= block_end);
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= t->shape[d];
        CHECK(numel == t->numel);
        CHECK(numel * (uint64_t)tmlp_st_dtype_bits(t->dtype) == 8 * (t->end - t->begin));
        const tmlp_st_tensor *found = tmlp_st_find(f, t->name);
        CHECK(found != NULL && strcmp(found->name, t->name) == 0);
        if (t->dtype == TMLP_ST_F32 || t->dtype == TMLP_ST_F16 || t->dtype == TMLP_ST_BF16 ||
            t->dtype == TMLP_ST_U8) {
            float *dst = malloc(t->numel ? t->numel * sizeof *dst : 1);
            if (!dst) continue;
            CHECK(tmlp_st_to_f32(t, dst, NULL) == TMLP_OK);
            free(dst);
        } else {
            float one;
            CHECK(tmlp_st_to_f32(t, &one, NULL) == TMLP_ERR_UNSUPPORTED);
        }
    }
    for (int64_t i = 0; i < f->n_meta; i++) {
        const char *v = tmlp_st_meta_get(f, f->meta[i].key);
        CHECK(v != NULL);
    }
    tmlp_st_free(f);
    return 0;
}
