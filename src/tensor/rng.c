/* rng.c — xoshiro256** seeded by splitmix64, and the distributions built on it.
 *
 * Why our own: the workload of a benchmark (sample order, arrival schedule, random
 * weights) must be identical on every machine for the same seed. rand() and drand48()
 * differ across libcs; these few lines do not.
 */
#include "tinymlp/rng.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64: spreads one seed over the 256-bit state (never all zero). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tmlp_rng_seed(tmlp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t tmlp_rng_next(tmlp_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tmlp_rng_uniform(tmlp_rng *r)
{
    return (double)(tmlp_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t tmlp_rng_below(tmlp_rng *r, uint64_t n)
{
    /* Lemire: the high 64 bits of x*n are uniform in [0,n) once the biased low part
     * (l < 2^64 mod n) is rejected. */
    if (n <= 1) return 0;
    for (;;) {
        __extension__ typedef unsigned __int128 u128; /* GCC/Clang: 64x64 -> 128 bits */
        u128 m = (u128)tmlp_rng_next(r) * n;
        uint64_t l = (uint64_t)m;
        if (l >= n || l >= (uint64_t)(-n) % n) return (uint64_t)(m >> 64);
    }
}

double tmlp_rng_exponential(tmlp_rng *r, double rate)
{
    /* Inversion: if u ~ U[0,1) then -log(1-u)/rate ~ Exp(rate). log1p keeps precision
     * for small u; u < 1 so the result is finite. */
    return -log1p(-tmlp_rng_uniform(r)) / rate;
}

double tmlp_rng_normal(tmlp_rng *r)
{
    /* Box-Muller with u1 in (0,1]: sqrt(-2 ln u1) cos(2 pi u2). */
    double u1 = 1.0 - tmlp_rng_uniform(r);
    double u2 = tmlp_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t tmlp_hash64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tmlp_hash64_u64(uint64_t h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return tmlp_hash64(h, b, 8);
}
