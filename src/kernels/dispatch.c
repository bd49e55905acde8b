/* dispatch.c — which kernel a model runs, and up to which batch size.
 *
 * The ISA files are compiled with their own flags (-mavx2 -mfma, -mavx512f) and never
 * called unless cpuid says the CPU (and the OS, which must save the wider registers) has
 * the instructions: __builtin_cpu_supports checks both. The shipped binary therefore runs
 * on any x86-64 and takes the best path present; no -march=native anywhere.
 *
 * arm64 the same way: NEON (Advanced SIMD) is in every arm64 CPU; the dot product and BF16
 * extensions are read from getauxval(AT_HWCAP / AT_HWCAP2), which the kernel fills from the
 * CPU's ID registers, and only then are neon_dotprod.c / neon_bf16.c (compiled with +dotprod /
 * +bf16) called. The three names neon, neon_dotprod, neon_bf16 run one F32 kernel (neon.c)
 * and differ at the reduced precisions (tmlp_kernel_function_prec).
 *
 * Crossover (tmlp_kernel_crossover): a fixed rule, measured with bench_forward and argued
 * in docs/kernels.md, rather than a timing at load time: a timing would make the path a
 * forward takes (and so its last bits) depend on the machine's load at that moment (two
 * loads of one file could disagree in the last bit, and digests with them), and every
 * model load would pay for it.
 */
#include "kernels.h"

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
/* The bits of <asm/hwcap.h> (stable Linux ABI), spelled here for older headers. */
#define TMLP_HWCAP_ASIMD (1UL << 1)
#define TMLP_HWCAP_ASIMDDP (1UL << 20)
#define TMLP_HWCAP2_BF16 (1UL << 14)
#endif

static const char *const names[] = {"auto", "scalar", "avx2", "avx512", "blas", "neon", "neon_dotprod", "neon_bf16"};

const char *tmlp_kernel_name(tmlp_kernel k)
{
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* The message lists the accepted names, from the same table the parser reads. */
static tmlp_status name_error(const char *call, const char *name, const char *const *table, size_t n,
                              tmlp_error *err)
{
    char list[96] = "";
    for (size_t k = 0; k < n; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", table[k]);
    return tmlp_error_set(err, TMLP_ERR_ARG, "kernels: %s: name \"%.64s\" is not one of %s", call, name, list);
}

tmlp_status tmlp_kernel_parse(const char *name, tmlp_kernel *out, tmlp_error *err)
{
    if (!name) return tmlp_error_set(err, TMLP_ERR_ARG, "kernels: kernel_parse: name is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "kernels: kernel_parse: out is NULL");
    int i = tmlp_name_index(names, sizeof names / sizeof names[0], name);
    if (i < 0) return name_error("kernel_parse", name, names, sizeof names / sizeof names[0], err);
    *out = (tmlp_kernel)i;
    return TMLP_OK;
}

int tmlp_cpu_has_arm(const char *feature)
{
#if defined(__aarch64__) && defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (!strcmp(feature, "asimd")) return (hw & TMLP_HWCAP_ASIMD) != 0;
    if (!strcmp(feature, "dotprod")) return (hw & TMLP_HWCAP_ASIMDDP) != 0;
    if (!strcmp(feature, "bf16")) return (hw2 & TMLP_HWCAP2_BF16) != 0;
#endif
    (void)feature;
    return 0;
}

int tmlp_kernel_available(tmlp_kernel k)
{
    switch (k) {
    case TMLP_KERNEL_AUTO:
    case TMLP_KERNEL_SCALAR:
    case TMLP_KERNEL_BLAS: return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TMLP_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
#endif
#if defined(__aarch64__) && defined(__linux__)
    case TMLP_KERNEL_NEON: return tmlp_cpu_has_arm("asimd");
    case TMLP_KERNEL_NEON_DOTPROD: return tmlp_cpu_has_arm("asimd") && tmlp_cpu_has_arm("dotprod");
    case TMLP_KERNEL_NEON_BF16: return tmlp_cpu_has_arm("asimd") && tmlp_cpu_has_arm("bf16");
#endif
    default: return 0;
    }
}

tmlp_kernel_fn tmlp_kernel_function(tmlp_kernel k)
{
    if (!tmlp_kernel_available(k)) return NULL;
    switch (k) {
    case TMLP_KERNEL_SCALAR: return tmlp_kernel_scalar;
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX2: return tmlp_kernel_avx2;
    case TMLP_KERNEL_AVX512: return tmlp_kernel_avx512;
#endif
#if defined(__aarch64__) && defined(__linux__)
    case TMLP_KERNEL_NEON:
    case TMLP_KERNEL_NEON_DOTPROD:
    case TMLP_KERNEL_NEON_BF16: return tmlp_kernel_neon;
#endif
    default: return NULL;
    }
}

tmlp_u8_lookup_fn tmlp_u8_lookup_function(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (tmlp_kernel_available(TMLP_KERNEL_AVX512) && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vbmi"))
        return tmlp_u8_lookup_vbmi;
    if (tmlp_kernel_available(TMLP_KERNEL_AVX512)) return tmlp_u8_lookup_avx512;
    if (tmlp_kernel_available(TMLP_KERNEL_AVX2)) return tmlp_u8_lookup_avx2;
#endif
    return tmlp_u8_lookup_scalar;
}

tmlp_kernel_rows_fn tmlp_kernel_rows_function(tmlp_kernel k)
{
    if (!tmlp_kernel_available(k)) return NULL;
    switch (k) {
    case TMLP_KERNEL_SCALAR: return tmlp_kernel_scalar_rows;
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX2: return tmlp_kernel_avx2_rows;
    case TMLP_KERNEL_AVX512: return tmlp_kernel_avx512_rows;
#endif
#if defined(__aarch64__) && defined(__linux__)
    case TMLP_KERNEL_NEON:
    case TMLP_KERNEL_NEON_DOTPROD:
    case TMLP_KERNEL_NEON_BF16: return tmlp_kernel_neon_rows;
#endif
    default: return NULL;
    }
}

/* What kernel k needs that a CPU may lack (the error message of an unavailable kernel). */
static const char *tmlp_kernel_needs(tmlp_kernel k)
{
    switch (k) {
    case TMLP_KERNEL_AVX512: return "AVX-512F";
    case TMLP_KERNEL_AVX2: return "AVX2 and FMA";
    case TMLP_KERNEL_NEON: return "arm64 NEON";
    case TMLP_KERNEL_NEON_DOTPROD: return "arm64 NEON with the dot product extension";
    case TMLP_KERNEL_NEON_BF16: return "arm64 NEON with BF16";
    default: return "it";
    }
}

tmlp_status tmlp_kernel_resolve(tmlp_kernel requested, tmlp_kernel *chosen, const char **source,
                                tmlp_error *err)
{
    const char *env = getenv("TMLP_KERNELS");
    *source = "model options";
    if (requested == TMLP_KERNEL_AUTO && env && *env) {
        *source = "TMLP_KERNELS";
        if (tmlp_kernel_parse(env, &requested, NULL) != TMLP_OK)
            return tmlp_error_set(err, TMLP_ERR_ARG,
                                  "TMLP_KERNELS=%s: not one of scalar, avx2, avx512, blas, neon, "
                                  "neon_dotprod, neon_bf16, auto", env);
    }
    if ((unsigned)requested > TMLP_KERNEL_NEON_BF16)
        return tmlp_error_set(err, TMLP_ERR_ARG, "kernel %d: not a tmlp_kernel", (int)requested);
    if (!tmlp_kernel_available(requested))
        return tmlp_error_set(err, TMLP_ERR_ARG,
                              "kernel '%s' (from %s) is not available on this CPU: it lacks %s",
                              tmlp_kernel_name(requested), *source,
                              tmlp_kernel_needs(requested));
    if (requested != TMLP_KERNEL_AUTO) {
        *chosen = requested;
        return TMLP_OK;
    }
    *source = "cpuid";
    *chosen = tmlp_kernel_available(TMLP_KERNEL_AVX512)      ? TMLP_KERNEL_AVX512
              : tmlp_kernel_available(TMLP_KERNEL_AVX2)        ? TMLP_KERNEL_AVX2
              : tmlp_kernel_available(TMLP_KERNEL_NEON_BF16)   ? TMLP_KERNEL_NEON_BF16
              : tmlp_kernel_available(TMLP_KERNEL_NEON_DOTPROD) ? TMLP_KERNEL_NEON_DOTPROD
              : tmlp_kernel_available(TMLP_KERNEL_NEON)        ? TMLP_KERNEL_NEON
                                                               : TMLP_KERNEL_BLAS;
    return TMLP_OK;
}

/* Measured with `bench_forward --sweep` (own kernel forced vs OpenBLAS forced, interleaved,
 * CPU time, 1 thread) on an AMD EPYC Zen 5 against OpenBLAS 0.3.21, 784-128-10,
 * 784-256-128-10, 784-512-512-10 and 1024-4096-4096-1024 (docs/kernels.md has the tables):
 *   avx512 vs the SkylakeX core: ours ahead at every batch 1..256 on all four shapes
 *          (1.12-1.18x at 256; 1.03x for 4096 x 4096, where it narrows), so 256;
 *   avx2   vs the Haswell core: ours ahead up to 64 on every shape whose panels fit the L2
 *          (1.03-1.08x), behind from 96 (784-512) or 192 (784-128), so 64.
 * The cache term (tmlp_cpu_cache_get): our kernel streams each 64-output panel (64 * in
 * floats) once per group of rows (4 on AVX2), so the re-reads are L2 hits only while a
 * panel fits in half the L2 (the other half holds x, y and the next panel's prefetch).
 * When it does not, every group re-reads the panel from L3 or DRAM while OpenBLAS's
 * blocking reads it once: on AVX2, with 4 rows per group, BLAS catches up after a few
 * groups (the sweep on 1024-4096-4096-1024: ahead 1.51x and 1.56x at 2 and 3 rows,
 * behind from 4, 0.97x, and 0.95x at 8: hence 3). AVX-512 keeps 256: its
 * 1 MB panels at in = 4096 were still 1.03x ahead at 256 with a 1 MB L2.
 * Batch 1 reads every weight once whichever path runs; for weights that do not fit the
 * last-level cache our kernels prefetch PF_DIST floats ahead (avx2.c, avx512.c), measured
 * at least as fast as one-thread sgemv (docs/kernels.md, "Cache-aware dispatch"), so batch 1
 * stays on our kernel at every size.
 * neon: NOT measured (no arm64 hardware yet; the kernels are tested under qemu, whose timings
 * mean nothing). It takes the AVX2 rule, whose shape it shares (4-row groups over 16-output
 * strips re-reading each panel): 64 while a panel fits half the L2, else 3. */
#define TMLP_AVX2_BIG_CROSSOVER 3

int64_t tmlp_kernel_crossover(tmlp_kernel k, int forced, int64_t in, int64_t out)
{
    (void)out;
    if (k == TMLP_KERNEL_BLAS || k == TMLP_KERNEL_AUTO) return 0;
    if (forced) return INT64_MAX;
    tmlp_cpu_cache c;
    tmlp_cpu_cache_get(&c);
    const int panel_fits_l2 = (double)TMLP_PANEL * (double)in * sizeof(float) <= (double)c.l2 / 2;
    switch (k) {
    case TMLP_KERNEL_AVX512: return 256;
    case TMLP_KERNEL_AVX2:
    case TMLP_KERNEL_NEON:
    case TMLP_KERNEL_NEON_DOTPROD:
    case TMLP_KERNEL_NEON_BF16: return panel_fits_l2 ? 64 : TMLP_AVX2_BIG_CROSSOVER;
    default: return 0; /* cpuid never picks scalar: OpenBLAS is faster at every batch */
    }
}

const char *tmlp_weights_residency(size_t bytes, const tmlp_cpu_cache *c)
{
    return bytes <= c->l2 / 2 ? "L2" : bytes <= c->l3 / 2 ? "L3" : "DRAM";
}

void tmlp_kernel_available_list(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = TMLP_KERNEL_SCALAR; k < (int)(sizeof names / sizeof names[0]); k++) {
        if (!tmlp_kernel_available((tmlp_kernel)k)) continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", names[k]);
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
}

/* --- Precisions (docs/precision.md) ------------------------------------------------------ */

static const char *const prec_names[] = {"auto", "f32", "bf16", "int8"};

const char *tmlp_precision_name(tmlp_precision p)
{
    return (unsigned)p < sizeof prec_names / sizeof prec_names[0] ? prec_names[p] : "unknown";
}

tmlp_status tmlp_precision_parse(const char *name, tmlp_precision *out, tmlp_error *err)
{
    if (!name) return tmlp_error_set(err, TMLP_ERR_ARG, "kernels: precision_parse: name is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "kernels: precision_parse: out is NULL");
    int i = tmlp_name_index(prec_names, sizeof prec_names / sizeof prec_names[0], name);
    if (i < 0) return name_error("precision_parse", name, prec_names, sizeof prec_names / sizeof prec_names[0], err);
    *out = (tmlp_precision)i;
    return TMLP_OK;
}

tmlp_status tmlp_precision_resolve(tmlp_precision requested, tmlp_precision *chosen,
                                   const char **source, tmlp_error *err)
{
    const char *env = getenv("TMLP_PRECISION");
    *source = "model options";
    if (requested == TMLP_PRECISION_AUTO && env && *env) {
        *source = "TMLP_PRECISION";
        if (tmlp_precision_parse(env, &requested, NULL) != TMLP_OK)
            return tmlp_error_set(err, TMLP_ERR_ARG, "TMLP_PRECISION=%s: not one of f32, bf16, int8, auto", env);
    }
    if ((unsigned)requested > TMLP_PRECISION_INT8)
        return tmlp_error_set(err, TMLP_ERR_ARG, "precision %d: not a tmlp_precision", (int)requested);
    if (requested == TMLP_PRECISION_AUTO) {
        *source = "default";
        requested = TMLP_PRECISION_F32;
    }
    *chosen = requested;
    return TMLP_OK;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* AVX-512 at a reduced precision: native needs BF16 + VNNI (+ BW for the byte work),
 * the emulation needs BW (byte and word shifts, vpmaddwd on zmm). */
static int avx512_native(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vnni");
}
static int avx512_emu(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
#endif

/* AVX-VNNI: vpdpbusd on ymm with a VEX prefix, cpuid leaf 7 sub-leaf 1, EAX bit 4, read
 * directly (clang 14's __builtin_cpu_supports does not know "avxvnni"); the ymm state the
 * OS must save is AVX2's, which tmlp_kernel_available checks. */
int tmlp_cpu_has_avx_vnni(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!tmlp_kernel_available(TMLP_KERNEL_AVX2) || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 4) & 1u;
#else
    return 0;
#endif
}

tmlp_kernel_fn tmlp_kernel_function_prec(tmlp_kernel k, tmlp_precision prec, const char **isa)
{
    const char *dummy;
    if (!isa) isa = &dummy;
    if (prec != TMLP_PRECISION_BF16 && prec != TMLP_PRECISION_INT8) {
        *isa = tmlp_kernel_name(k);
        return tmlp_kernel_function(k);
    }
    const int bf = prec == TMLP_PRECISION_BF16;
    if (!tmlp_kernel_available(k)) return NULL;
    switch (k) {
    case TMLP_KERNEL_SCALAR:
        *isa = "scalar";
        return bf ? tmlp_kernel_scalar_bf16 : tmlp_kernel_scalar_int8;
#if defined(__x86_64__) && defined(__GNUC__)
    case TMLP_KERNEL_AVX2:
        if (!bf && getenv("TMLP_LOWP_EMULATE") == NULL && tmlp_cpu_has_avx_vnni()) {
            *isa = "avx_vnni";
            return tmlp_kernel_avxvnni_int8;
        }
        *isa = "avx2 (emulated)";
        return bf ? tmlp_kernel_avx2_bf16 : tmlp_kernel_avx2_int8;
    case TMLP_KERNEL_AVX512:
        if (getenv("TMLP_LOWP_EMULATE") == NULL && avx512_native()) {
            *isa = bf ? "avx512_bf16" : "avx512_vnni";
            return bf ? tmlp_kernel_avx512n_bf16 : tmlp_kernel_avx512n_int8;
        }
        if (avx512_emu()) {
            *isa = "avx512 (emulated)";
            return bf ? tmlp_kernel_avx512e_bf16 : tmlp_kernel_avx512e_int8;
        }
        if (tmlp_kernel_available(TMLP_KERNEL_AVX2)) { /* AVX-512F without BW: rare */
            *isa = "avx2 (emulated)";
            return bf ? tmlp_kernel_avx2_bf16 : tmlp_kernel_avx2_int8;
        }
        return NULL;
#endif
#if defined(__aarch64__) && defined(__linux__)
    case TMLP_KERNEL_NEON:
    case TMLP_KERNEL_NEON_DOTPROD:
    case TMLP_KERNEL_NEON_BF16:
        /* the best path of the precision the named kernel may use (neon_bf16's INT8: sdot
         * only if the CPU also has the dot product; neon_dotprod's BF16: widened) */
        if (bf && k == TMLP_KERNEL_NEON_BF16) {
            *isa = "neon_bf16 (bfdot)";
            return tmlp_kernel_neon_bf16_bfdot;
        }
        if (!bf && k != TMLP_KERNEL_NEON && tmlp_cpu_has_arm("dotprod")) {
            *isa = "neon_dotprod (sdot)";
            return tmlp_kernel_neon_int8_sdot;
        }
        *isa = bf ? "neon (widened)" : "neon (widening multiply)";
        return bf ? tmlp_kernel_neon_bf16_widen : tmlp_kernel_neon_int8_widen;
#endif
    default: return NULL;
    }
}

float tmlp_stream_sum(tmlp_kernel k, const float *x, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (k == TMLP_KERNEL_AVX512 && tmlp_kernel_available(k)) return tmlp_stream_sum_avx512(x, n);
    if ((k == TMLP_KERNEL_AVX2 || k == TMLP_KERNEL_AVX512) && tmlp_kernel_available(TMLP_KERNEL_AVX2))
        return tmlp_stream_sum_avx2(x, n);
#endif
    (void)k;
    float s[4] = {0, 0, 0, 0}; /* four chains so the add latency does not set the pace */
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int v = 0; v < 4; v++) s[v] += x[i + v];
    for (; i < n; i++) s[0] += x[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}
