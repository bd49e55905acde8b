/* tinymlp/rng.h — our own PRNG and distributions, so a seed means the same numbers on
 * every machine and libc (rand() differs between them).
 *
 * Generator: xoshiro256** (Blackman & Vigna), state seeded by splitmix64 from one 64-bit
 * seed. Uniform doubles take the top 53 bits: u = (x >> 11) * 2^-53, in [0, 1).
 * Exponential with rate lambda by inversion: -log1p(-u) / lambda.
 * The state is a plain value struct: copy it, put it on the stack, one per thread.
 */
#ifndef TINYMLP_RNG_H
#define TINYMLP_RNG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_rng {
    uint64_t s[4];
} tmlp_rng;

TMLP_API void tmlp_rng_seed(tmlp_rng *r, uint64_t seed);
TMLP_API uint64_t tmlp_rng_next(tmlp_rng *r);
/* Uniform in [0, 1), 53 random bits. */
TMLP_API double tmlp_rng_uniform(tmlp_rng *r);
/* Uniform integer in [0, n), n >= 1, unbiased (Lemire's multiply-and-reject). */
TMLP_API uint64_t tmlp_rng_below(tmlp_rng *r, uint64_t n);
/* Exponential with rate `rate` (> 0): mean 1/rate. */
TMLP_API double tmlp_rng_exponential(tmlp_rng *r, double rate);
/* Standard normal (Box-Muller, one value per call; deterministic). */
TMLP_API double tmlp_rng_normal(tmlp_rng *r);

/* FNV-1a 64-bit hash, for workload digests: h = tmlp_hash64(h, bytes, n), start with
 * TMLP_HASH64_INIT. Byte order is fixed by the caller (hash little-endian encodings). */
#define TMLP_HASH64_INIT 0xcbf29ce484222325ULL
TMLP_API uint64_t tmlp_hash64(uint64_t h, const void *data, size_t n);
TMLP_API uint64_t tmlp_hash64_u64(uint64_t h, uint64_t v); /* hashes v's 8 bytes little-endian */

#ifdef __cplusplus
}
#endif
#endif
