/* tinymlp/kernels.h — which Dense kernel runs, and how to choose it.
 *
 * A Dense layer runs one of our own kernels over weights packed at model build/load time
 * (src/kernels/: scalar, AVX2+FMA, AVX-512F, arm64 NEON, picked at run time) for batches of
 * up to its *crossover* rows, and OpenBLAS sgemv/sgemm with the same fused bias + ReLU
 * epilogue above it. docs/kernels.md explains the layout, the dispatch and the crossover.
 *
 * Choosing (first that applies):
 *   1. tmlp_model_options.kernel, if not TMLP_KERNEL_AUTO;
 *   2. the environment variable TMLP_KERNELS=scalar|avx2|avx512|blas|neon|neon_dotprod|neon_bf16|auto;
 *   3. the best kernel the CPU has (x86-64: avx512 > avx2, without AVX2 blas;
 *      arm64: neon_bf16 > neon_dotprod > neon, read from getauxval(AT_HWCAP, AT_HWCAP2)).
 * A kernel chosen by 1 or 2 ("forced") runs at every batch size, which is what A/B
 * comparisons and teaching want; one chosen by 3 runs up to the measured crossover.
 * Asking for a kernel the CPU lacks is an error (TMLP_ERR_ARG with a message) when the
 * model is created or loaded, never a silent fallback.
 *
 * Weight precision (docs/precision.md), chosen the same way: tmlp_model_options.precision,
 * else TMLP_PRECISION=f32|bf16|int8, else f32. BF16 and INT8 weights are converted and
 * packed once at load; activations, bias, accumulation and softmax stay F32 (INT8
 * accumulates in int32). A reduced precision always runs our kernels (OpenBLAS has none),
 * so asking for it together with the blas kernel is an error.
 */
#ifndef TINYMLP_KERNELS_H
#define TINYMLP_KERNELS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tmlp_model tmlp_model; /* model.h */

typedef enum tmlp_kernel {
    TMLP_KERNEL_AUTO = 0,   /* TMLP_KERNELS, else the best the CPU has */
    TMLP_KERNEL_SCALAR = 1, /* portable C: the reference */
    TMLP_KERNEL_AVX2 = 2,   /* AVX2 + FMA */
    TMLP_KERNEL_AVX512 = 3, /* AVX-512F */
    TMLP_KERNEL_BLAS = 4,   /* OpenBLAS sgemv/sgemm at every batch size */
    TMLP_KERNEL_NEON = 5,   /* arm64 Advanced SIMD (fmla); BF16 widened, INT8 widening multiply */
    TMLP_KERNEL_NEON_DOTPROD = 6, /* arm64 NEON + dot product (INT8 with sdot) */
    TMLP_KERNEL_NEON_BF16 = 7     /* arm64 NEON + BF16 (bfdot); INT8 with sdot if present */
} tmlp_kernel;

/* "auto", "scalar", "avx2", "avx512", "blas", "neon", "neon_dotprod", "neon_bf16" (static). */
TMLP_API const char *tmlp_kernel_name(tmlp_kernel k);
/* Parse one of those names. TMLP_ERR_ARG if NULL or unknown; `err` (may be NULL) gets a
 * message naming the accepted names ("kernels: kernel_parse: name "gpu" is not one of auto,
 * scalar, avx2, avx512, blas, neon, neon_dotprod, neon_bf16"). */
TMLP_API tmlp_status tmlp_kernel_parse(const char *name, tmlp_kernel *out, tmlp_error *err);
/* 1 if this CPU (and this build) can run kernel k; AUTO, SCALAR and BLAS always can. */
TMLP_API int tmlp_kernel_available(tmlp_kernel k);

/* What a model runs. Crossover: Dense layers run `kernel` for batches <= crossover rows
 * and OpenBLAS above; the figures below are the smallest and largest over the model's
 * Dense layers (tmlp_layer_info has each layer's). INT64_MAX = always our kernel, 0 = always
 * BLAS. */
typedef enum tmlp_precision {
    TMLP_PRECISION_AUTO = 0, /* TMLP_PRECISION, else F32 */
    TMLP_PRECISION_F32 = 1,  /* the file's weights as F32 (default) */
    TMLP_PRECISION_BF16 = 2, /* weights bfloat16 (round to nearest even from F32) */
    TMLP_PRECISION_INT8 = 3  /* weights int8, symmetric per output channel */
} tmlp_precision;

/* "auto", "f32", "bf16", "int8" (static). */
TMLP_API const char *tmlp_precision_name(tmlp_precision p);
/* Parse one of those names. TMLP_ERR_ARG if NULL or unknown; `err` (may be NULL) gets a
 * message naming the accepted names. */
TMLP_API tmlp_status tmlp_precision_parse(const char *name, tmlp_precision *out,
                                          tmlp_error *err);

typedef struct tmlp_kernel_info {
    tmlp_kernel kernel;
    char name[16];          /* tmlp_kernel_name(kernel) */
    char source[32];        /* "cpuid", "TMLP_KERNELS" or "model options" */
    char available[64];     /* kernels this machine can run, e.g. "scalar,avx2,avx512,blas" */
    int64_t crossover_min, crossover_max;
    size_t packed_bytes;    /* packed copies of the weights, on top of the (out, in) originals */
    tmlp_precision precision;   /* weight precision the Dense layers run (never AUTO) */
    char precision_source[32];  /* "default", "TMLP_PRECISION" or "model options" */
    char isa[32];           /* instruction path of the kernel at this precision, e.g.
                             * "avx512_bf16", "avx512_vnni", "avx2 (emulated)", "scalar" */
} tmlp_kernel_info;

/* Fill `info` for model m (any time after creation). TMLP_ERR_ARG on NULL; `err` (may be
 * NULL) gets "model: kernel_info: info is NULL". */
TMLP_API tmlp_status tmlp_model_kernel_info(const tmlp_model *m, tmlp_kernel_info *info,
                                            tmlp_error *err);

/* The data caches of this machine, as the Dense dispatch rule reads them (docs/kernels.md,
 * "Cache-aware dispatch"): l2 = one core's L2, l3 = the last-level cache a core shares
 * (the L2 again when there is no L3), in bytes. source: "cpuid 4", "cpuid 0x8000001d",
 * "sysconf" or "fallback" (512 KB, 8 MB) — cpuid first, since sysconf can be wrong in a VM. */
typedef struct tmlp_cpu_cache {
    size_t l2, l3;
    char source[24];
} tmlp_cpu_cache;

TMLP_API void tmlp_cpu_cache_get(tmlp_cpu_cache *c);

/* Where `bytes` of weights read once per forward live between forwards on a machine with
 * caches c: "L2" (<= half the L2), "L3" (<= half the last level), else "DRAM" (streamed,
 * with the kernels' software prefetch). Half: activations and neighbours share them.
 * The rule the Dense dispatch reads; static string. */
TMLP_API const char *tmlp_weights_residency(size_t bytes, const tmlp_cpu_cache *c);

/* Sum of x[0..n) (x 64-byte aligned; any n) with the widest loads of kernel
 * k (SCALAR for a kernel this CPU lacks): a streaming read as fast as that kernel could
 * stream weights, the memory roof a tool compares a forward against (bench_mlp profile's
 * bandwidth probe, bench_forward's "read" column). Thread-safe. */
TMLP_API float tmlp_stream_sum(tmlp_kernel k, const float *x, size_t n);

/* Advise 2 MB pages for the whole 2 MB pages inside [block, block + bytes) when it spans at
 * least 4 MB (Linux MADV_HUGEPAGE; a no-op elsewhere or on failure), as the library does for
 * packed weights. Call before the first write. A tool's buffer read against the weights
 * then takes the same TLB misses (one per 2 MB, not per 4 KB). */
TMLP_API void tmlp_mem_advise_huge(void *block, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
