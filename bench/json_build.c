/* json_build.c — checked cJSON building for every JSON document bench_mlp writes (run.h):
 * a failed allocation inside cJSON, or in a builder, is counted, so a builder that sees the
 * count change discards its document instead of writing one with keys missing.
 *
 * Invariants: the count only grows; the hooks are installed once, by the first
 * tmlp_json_failures call (cJSON's hooks are process-wide by its design), and the count is
 * the only global state, atomic. Its own file so that the writers of the results
 * (output.c), of the context block (context.c) and of the paired precision comparison
 * (precision.c) all depend on it and none on another.
 */
#include "run.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic unsigned long g_json_failures; /* failed cJSON allocations, ever */

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) atomic_fetch_add(&g_json_failures, 1);
    return p;
}

void tmlp_json_fail(void) { atomic_fetch_add(&g_json_failures, 1); }

void tmlp_json_add(cJSON *parent, const char *key, cJSON *item)
{
    if (item && parent && cJSON_AddItemToObject(parent, key, item)) return;
    cJSON_Delete(item);
    tmlp_json_fail();
}

void tmlp_json_append(cJSON *array, cJSON *item)
{
    if (item && array && cJSON_AddItemToArray(array, item)) return;
    cJSON_Delete(item);
    tmlp_json_fail();
}

unsigned long tmlp_json_failures(void)
{
    static atomic_flag installed = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&installed)) {
        cJSON_Hooks h = {json_malloc, free};
        cJSON_InitHooks(&h);
    }
    return atomic_load(&g_json_failures);
}
