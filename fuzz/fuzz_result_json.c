/* fuzz_result_json.c — libFuzzer target for the results-file reader of bench_mlp
 * (bench/result_check.c): what `report --from`, `compare`, `regress`, `--baseline` and
 * `history import` accept from a file someone else wrote.
 *
 * The input is parsed as cJSON (cJSON_ParseWithLength: no NUL needed) and, when it parses,
 * checked by tmlp_result_check. Invariants:
 *   - a refusal (-1) writes a non-empty, NUL-terminated message into the buffer, even a
 *     1-byte one (truncated to ""); an acceptance (0) returns nothing else;
 *   - an accepted document has a non-empty "runs" array whose entries are objects with a
 *     string "scenario" (what every reader then dereferences without checking again).
 * The same document checked again gives the same answer (the check keeps no state).
 * Violations call __builtin_trap so libFuzzer records the input.
 *
 * Build and run: scripts/fuzz.sh result_json SECONDS
 */
#include "result_check.h"

#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) __builtin_trap();                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0; /* the 64 MiB cap is tested in tests/; keep runs fast */
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc) return 0;
    char msg[512];
    memset(msg, 'x', sizeof msg);
    int rc = tmlp_result_check(doc, "fuzz.json", msg, sizeof msg);
    CHECK(rc == 0 || rc == -1);
    if (rc == -1) CHECK(memchr(msg, '\0', sizeof msg) != NULL && msg[0] != '\0');
    if (rc == 0) {
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs"), *r;
        CHECK(cJSON_IsArray(runs) && cJSON_GetArraySize(runs) > 0);
        cJSON_ArrayForEach(r, runs) {
            CHECK(cJSON_IsObject(r));
            CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "scenario")));
        }
    }
    char tiny[1] = {'x'};
    CHECK(tmlp_result_check(doc, "fuzz.json", tiny, sizeof tiny) == rc);
    if (rc == -1) CHECK(tiny[0] == '\0');
    cJSON_Delete(doc);
    return 0;
}
