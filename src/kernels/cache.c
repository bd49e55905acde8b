/* cache.c — the data cache sizes of the machine, for the dispatch rule (dispatch.c).
 *
 * Read in this order, the first plausible answer wins:
 *   1. cpuid: leaf 0x8000001D on AMD (with TopologyExtensions), leaf 4 elsewhere; each
 *      sub-leaf describes one cache: type (EAX[4:0], 1 data, 3 unified), level (EAX[7:5]),
 *      size = ways (EBX[31:22]+1) * partitions (EBX[21:12]+1) * line (EBX[11:0]+1)
 *             * sets (ECX+1);
 *   2. sysconf(_SC_LEVEL2_CACHE_SIZE / _SC_LEVEL3_CACHE_SIZE) (glibc);
 *   3. a fallback of 512 KB L2 and 8 MB L3 (a small server core; the rule then errs
 *      towards "does not fit", which costs little: see dispatch.c).
 * cpuid comes first because sysconf can be wrong in a VM: on the AMD EPYC (Zen 5) VM this
 * was written on, glibc 2.36 reports an L3 of 320 MB where cpuid (and lscpu) say 32 MB.
 * "Plausible" is 64 KB .. 1 GB. Values are per cache instance (L3: the one a core shares
 * with its CCX or socket neighbours), not totals over the machine.
 */
#include "kernels.h"

#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

static int plausible(size_t b) { return b >= ((size_t)64 << 10) && b <= ((size_t)1 << 30); }

#if defined(__x86_64__) && defined(__GNUC__)
/* Size of the data/unified cache of `level` described by cpuid leaf `leaf`; 0 if none. */
static size_t cpuid_cache(unsigned leaf, unsigned level)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned a, b, c, d;
        if (!__get_cpuid_count(leaf, i, &a, &b, &c, &d)) return 0;
        const unsigned type = a & 31u;
        if (type == 0) return 0;
        if ((type == 1 || type == 3) && ((a >> 5) & 7u) == level)
            return (size_t)((b >> 22) + 1) * (((b >> 12) & 1023u) + 1) * ((b & 4095u) + 1) * ((size_t)c + 1);
    }
    return 0;
}

static unsigned cpuid_cache_leaf(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d) && ((c >> 22) & 1u) &&
        __get_cpuid_max(0x80000000u, NULL) >= 0x8000001Du)
        return 0x8000001Du;
    return __get_cpuid_max(0, NULL) >= 4 ? 4u : 0u;
}
#endif

void tmlp_cpu_cache_get(tmlp_cpu_cache *c)
{
    memset(c, 0, sizeof *c);
#if defined(__x86_64__) && defined(__GNUC__)
    const unsigned leaf = cpuid_cache_leaf();
    if (leaf) {
        c->l2 = cpuid_cache(leaf, 2);
        c->l3 = cpuid_cache(leaf, 3);
        if (plausible(c->l2) && (plausible(c->l3) || c->l3 == 0)) {
            strcpy(c->source, leaf == 4 ? "cpuid 4" : "cpuid 0x8000001d");
            if (c->l3 == 0) c->l3 = c->l2; /* no L3: the L2 is the last level */
            return;
        }
    }
#endif
#if defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l2 > 0 && plausible((size_t)l2)) {
        c->l2 = (size_t)l2;
        c->l3 = l3 > 0 && plausible((size_t)l3) ? (size_t)l3 : (size_t)l2;
        strcpy(c->source, "sysconf");
        return;
    }
#endif
    c->l2 = (size_t)512 << 10;
    c->l3 = (size_t)8 << 20;
    strcpy(c->source, "fallback");
}
