/* kernels.h (private) — Dense forward kernels of our own over packed weights, one file
 * per instruction set, and the dispatch that picks one at run time.
 *
 * The packed layout (pack.c). W is (out, in) as in PyTorch; the kernels want, for a block
 * of outputs, all of their weights for input k next to each other, so one vector load
 * per k feeds 16 outputs. Outputs are cut into panels of TMLP_PANEL = 64:
 *
 *     panel p = outputs [64p, 64p + wp)       wp = 64, or for the last panel the rest
 *                                             rounded up to 16 (zero padded)
 *     wp[p][k][j] = W[64p + j][k]             k in [0, in), j in [0, wp)
 *
 *        W (out, in)                     packed: panel 0 | panel 1 | ...  (64-byte aligned)
 *        row 0   w00 w01 w02 ...           k=0: W[0][0] W[1][0] ... W[63][0]   <- 256 bytes
 *        row 1   w10 w11 w12 ...           k=1: W[0][1] W[1][1] ... W[63][1]
 *        ...                               ...
 *
 * Panel p starts at p * 64 * in floats, so every panel is 64-byte aligned when the base is.
 * The bias is padded the same way (n_panels * 64 floats, zeros past `out`).
 *
 * A kernel computes  y:(B,out) = act(x:(B,in) . W^T + b),  act the epilogue's activation
 * (act.h: NONE, RELU, LEAKY_RELU, GELU, GELU_TANH, TANH, SIGMOID, SILU). Rows of x and y
 * are contiguous (strides in and out); x need not be aligned. Each kernel streams a panel
 * once per group of rows and keeps its outputs in registers until the epilogue, which adds
 * the bias and applies act to each vector before its one store. Each kernel runs in two
 * copies (TMLP_EPILOGUE_SPLIT): NONE and RELU in one where nothing else can happen, which is
 * the code of the kernels before the other activations (a branch on ReLU, a max); the
 * others in one whose store calls the file's single out-of-line act_vecs, where the vector
 * math (vmath_avx2.h / vmath_avx512.h) is inlined.
 *
 * Reduced precisions (docs/precision.md) keep the 64-output panels and group k so that one
 * 32-bit lane holds one output's weights for 2 (BF16) or 4 (INT8) consecutive k, the
 * operand shape of vdpbf16ps and vpdpbusd:
 *
 *     bf16: wb[panel][t][j][2]   = bf16(W[64p + j][2t + i])       t < kp/2, kp = in rounded to 2
 *     int8: wq[panel][t][j][4]   = q(W[64p + j][4t + i])          t < kp/4, kp = in rounded to 4
 *
 * padded with zero weights past `in`. INT8 adds per output j: wscale[j] (W = wscale * q)
 * and wsum[j] = sum_k q[j][k] (the zero-point correction). Activations are quantized per
 * row as they enter the kernel (tmlp_q8_params below; asymmetric u8 with a zero point).
 *
 * Next: scalar.c (the reference: read it first), avx2.c, avx512.c, dispatch.c; the reduced
 * precisions: scalar_lowp.c, lowp_driver.h (the outer loop both SIMD files share),
 * avx512_lowp.h (compiled twice: native BF16/VNNI and emulated), avx2_lowp.h (compiled
 * three times: emulated, AVX-VNNI, and AVX-VNNI's code EVEX-encoded for tests).
 */
#ifndef TMLP_KERNELS_H
#define TMLP_KERNELS_H

#include "act.h"
#include "tinymlp/kernels.h"

#include <stddef.h>
#include <stdint.h>

#define TMLP_PANEL 64

typedef struct tmlp_packed {
    int64_t in, out;
    int64_t n_panels;  /* ceil(out / 64) */
    tmlp_precision precision; /* F32, BF16 or INT8: which of w / wb / wq is set */
    int64_t kp;        /* in rounded up to the k group: 1 (F32), 2 (BF16), 4 (INT8) */
    float *w;          /* F32 packed weights, 64-byte aligned (see above) */
    uint16_t *wb;      /* BF16 panels; panel p starts at 64p * kp elements */
    int8_t *wq;        /* INT8 panels; panel p starts at 64p * kp bytes */
    float *wscale;     /* INT8: (n_panels * 64) per-output scales, 1 in the padding */
    int32_t *wsum;     /* INT8: (n_panels * 64) sum_k q[j][k] */
    float *bias;       /* (n_panels * 64), zero padded */
    void *block;       /* the one allocation holding w and bias */
    size_t bytes;      /* bytes of `block` */
    /* Bytes of the whole layer's panels: size rules inside a kernel (avx512.c's pairing at
     * batch 1) read this, not the panels in front of them, so a view of some panels (the
     * session's threads, dense.c) sums each output in the same order as the whole layer. */
    size_t layer_bytes;
} tmlp_packed;

/* Width of panel p (64, or the rest rounded up to 16 for the last one). */
static inline int64_t tmlp_panel_width(const tmlp_packed *p, int64_t panel)
{
    const int64_t rest = p->out - panel * TMLP_PANEL;
    return rest >= TMLP_PANEL ? TMLP_PANEL : (rest + 15) / 16 * 16;
}

typedef void (*tmlp_kernel_fn)(const tmlp_packed *p, const float *x, float *y, int64_t batch,
                               tmlp_epilogue ep);
/* The same over rows that need not be contiguous: row r of x is xp[r] (in floats, any
 * alignment). The session's zero-copy input (tmlp_session_forward_rows): the first layer
 * reads a data set's rows where they lie instead of a gathered copy. F32 kernels only. */
typedef void (*tmlp_kernel_rows_fn)(const tmlp_packed *p, const float *const *xp, float *y,
                                    int64_t batch, tmlp_epilogue ep);
/* Row r of the input inside a kernel that serves both: x contiguous (xp NULL) or xp. */
#define TMLP_XROW(x, xp, in, r) ((xp) ? (xp)[r] : (x) + (r) * (in))
/* A kernel file writes one always-inline `forward(p, x, xp, y, batch, ep)` over TMLP_XROW
 * and gets both entry points, tmlp_kernel_<isa> and tmlp_kernel_<isa>_rows, from this; each
 * inlines forward twice (TMLP_EPILOGUE_SPLIT: NONE or RELU, the rest). */
#define TMLP_KERNEL_ENTRY_POINTS(isa)                                                           \
    void tmlp_kernel_##isa(const tmlp_packed *p, const float *x, float *y, int64_t batch,      \
                           tmlp_epilogue ep)                                                    \
    {                                                                                           \
        TMLP_EPILOGUE_SPLIT(ep, e, forward(p, x, NULL, y, batch, e));                          \
    }                                                                                           \
    void tmlp_kernel_##isa##_rows(const tmlp_packed *p, const float *const *xp, float *y,      \
                                  int64_t batch, tmlp_epilogue ep)                              \
    {                                                                                           \
        TMLP_EPILOGUE_SPLIT(ep, e, forward(p, NULL, xp, y, batch, e));                         \
    }

/* Run CALL (an always-inline call taking the epilogue as `e`) in two copies: one where the
 * compiler knows e.act is NONE or RELU, so the activation is the ReLU-only kernels' `if
 * (relu) max` and no more, and one for every other activation. */
#define TMLP_EPILOGUE_SPLIT(ep, e, CALL)                                                        \
    do {                                                                                        \
        const tmlp_epilogue e = (ep);                                                           \
        if (e.act == TMLP_ACT_NONE || e.act == TMLP_ACT_RELU) {                                 \
            if (e.act != TMLP_ACT_NONE && e.act != TMLP_ACT_RELU) __builtin_unreachable();     \
            CALL;                                                                               \
        } else {                                                                                \
            CALL;                                                                               \
        }                                                                                       \
    } while (0)

void tmlp_kernel_scalar(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx2(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx512(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_scalar_rows(const tmlp_packed *p, const float *const *xp, float *y,
                             int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx2_rows(const tmlp_packed *p, const float *const *xp, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx512_rows(const tmlp_packed *p, const float *const *xp, float *y,
                             int64_t batch, tmlp_epilogue ep);

/* tmlp_stream_sum (tinymlp/kernels.h) per instruction set; tmlp_mem_advise_huge and
 * tmlp_weights_residency are public there too. */
float tmlp_stream_sum_avx2(const float *x, size_t n);
float tmlp_stream_sum_avx512(const float *x, size_t n);

/* pack.c: fill *p from W (out, in) and b (out) through allocator a, at precision prec
 * (AUTO = F32). TMLP_ERR_NOMEM on failure (size overflow included), *p then owns nothing. */
tmlp_status tmlp_packed_create(const tmlp_allocator *a, int64_t in, int64_t out,
                               const float *weight, const float *bias, tmlp_packed *p);
tmlp_status tmlp_packed_create_prec(const tmlp_allocator *a, int64_t in, int64_t out,
                                    const float *weight, const float *bias, tmlp_precision prec,
                                    tmlp_packed *p);
/* Bytes of weights one forward streams through this layer: panels plus, for INT8, scales
 * and sums (the bias is excluded: it is F32 at every precision). */
size_t tmlp_packed_stream_bytes(const tmlp_packed *p);

/* --- Reduced precisions ---------------------------------------------------------------- */

/* Widest layer input the BF16 and INT8 kernels take: they convert or quantize rows of x
 * into a 64 KB stack buffer (the forward allocates nothing), and INT8's int32 sums stay
 * exact up to 65536 * 255 * 127 < 2^31. */
#define TMLP_LOWP_MAX_IN 32768
#define TMLP_LOWP_STACK 65536

/* F32 -> BF16, round to nearest even; NaN stays a (quiet) NaN. */
static inline uint16_t tmlp_f32_to_bf16(float f)
{
    uint32_t u;
    __builtin_memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float tmlp_bf16_to_f32(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}

/* Per-row activation quantization (INT8): asymmetric u8 over [min(lo, 0), max(hi, 0)],
 *     scale = range / 255,  inv = 255 / range,  zero = rne(-lo * inv)  in [0, 255],
 *     q[k] = clamp(rne(x[k] * inv) + zero, 0, 255),  x[k] ~ scale * (q[k] - zero).
 * 0 is in the range so it is exact (ReLU zeros, padding). A row of zeros: scale 1, zero 0.
 * Every kernel computes these with exactly these float operations, so the integer sums
 * agree bit for bit with the scalar reference. */
static inline void tmlp_q8_params(float lo, float hi, float *scale, float *inv, int32_t *zero)
{
    lo = lo < 0.0f ? lo : 0.0f;
    hi = hi > 0.0f ? hi : 0.0f;
    const float range = hi - lo;
    if (!(range > 0.0f) || !(range < 3.0e38f)) {
        *scale = 1.0f;
        *inv = 1.0f;
        *zero = 0;
        return;
    }
    *scale = range / 255.0f;
    *inv = 255.0f / range;
    long z = __builtin_lrintf(-lo * *inv);
    *zero = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

static inline uint8_t tmlp_q8_one(float x, float inv, int32_t zero)
{
    long v = __builtin_lrintf(x * inv) + zero;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The INT8 epilogue of output j for one row: the same float operations in every kernel
 * (convert, multiply by sx * wscale[j], add the bias; no FMA), so outputs are bit-exact. */
static inline float tmlp_q8_out(int32_t acc, int32_t zero, int32_t wsum, float sx, float ws,
                                float b)
{
    const int32_t c = (int32_t)((uint32_t)acc - (uint32_t)zero * (uint32_t)wsum);
    const float sc = sx * ws;
    const float prod = (float)c * sc;
    return prod + b;
}

void tmlp_kernel_scalar_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_scalar_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx2_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx2_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
/* avx2_lowp.h's INT8 with vpdpbusd ymm: VEX (AVX-VNNI) and EVEX (AVX512VL+VNNI, tests only) */
int tmlp_cpu_has_avx_vnni(void); /* dispatch.c: cpuid reports AVX-VNNI (and AVX2 runs) */
void tmlp_kernel_avxvnni_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avxvnni_evex_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
/* avx512_lowp.h compiled natively (-mavx512bf16 -mavx512vnni) and emulated (-mavx512bw) */
void tmlp_kernel_avx512n_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx512n_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx512e_bf16(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_avx512e_int8(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);

/* arm64 (neon*.c, docs/kernels.md "NEON"): F32 with fmla (neon.c, one kernel behind all three
 * names); BF16 widened by shift and INT8 by a widening multiply (neon_lowp.c, base NEON); INT8
 * with sdot (neon_dotprod.c, +dotprod) and BF16 with bfdot (neon_bf16.c, +bf16), each compiled
 * with its extension and called only when getauxval reports it. */
void tmlp_kernel_neon(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_neon_rows(const tmlp_packed *p, const float *const *xp, float *y, int64_t batch,
                           tmlp_epilogue ep);
void tmlp_kernel_neon_bf16_widen(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_neon_int8_widen(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_neon_int8_sdot(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
void tmlp_kernel_neon_bf16_bfdot(const tmlp_packed *p, const float *x, float *y, int64_t batch, tmlp_epilogue ep);
/* dispatch.c: 1 if the CPU has the arm64 extension (0 on other machines): "dotprod", "bf16". */
int tmlp_cpu_has_arm(const char *feature);

/* dispatch.c: the function running kernel k at precision prec, and the instruction path's
 * name ("avx512_vnni", "avx2 (emulated)", ...): NULL if k cannot run prec on this CPU. */
tmlp_kernel_fn tmlp_kernel_function_prec(tmlp_kernel k, tmlp_precision prec, const char **isa);
/* Turn a requested precision (AUTO: TMLP_PRECISION, else F32) into one; *source as above. */
tmlp_status tmlp_precision_resolve(tmlp_precision requested, tmlp_precision *chosen,
                                   const char **source, tmlp_error *err);
void tmlp_packed_destroy(const tmlp_allocator *a, tmlp_packed *p);

/* dst[i] = table[src[i]] for i < n: the u8 -> f32 preprocessing of forward_u8 (a 256-entry
 * table). tmlp_u8_lookup_function: the AVX512_VBMI one when cpuid has AVX512_VBMI and BW,
 * else the AVX-512 one with AVX-512F, else the AVX2 one (vgatherdps) with AVX2, else scalar;
 * all give the same bits (a lookup). */
typedef void (*tmlp_u8_lookup_fn)(const uint8_t *src, const float *table, float *dst, int64_t n);
/* Floats of a lookup table: the 256 entries, then the same bits as 4 byte planes (plane p
 * holds byte p of each entry; u8_vbmi.c's form of the table). */
#define TMLP_U8_TABLE_FLOATS 512
/* The table: table[v] = (v * scale - mean) / std computed in double, rounded to float once,
 * then its byte planes. Built by every session, and by bench_mlp profile, which must
 * preprocess exactly alike. table: TMLP_U8_TABLE_FLOATS floats. */
static inline void tmlp_u8_table(double scale, double mean, double std, float *table)
{
    uint8_t *planes = (uint8_t *)(table + 256);
    for (int v = 0; v < 256; v++) {
        table[v] = (float)(((double)v * scale - mean) / std);
        uint32_t u;
        __builtin_memcpy(&u, &table[v], 4);
        for (int p = 0; p < 4; p++) planes[256 * p + v] = (uint8_t)(u >> (8 * p));
    }
}
void tmlp_u8_lookup_scalar(const uint8_t *src, const float *table, float *dst, int64_t n);
void tmlp_u8_lookup_avx2(const uint8_t *src, const float *table, float *dst, int64_t n);
void tmlp_u8_lookup_avx512(const uint8_t *src, const float *table, float *dst, int64_t n);
void tmlp_u8_lookup_vbmi(const uint8_t *src, const float *table, float *dst, int64_t n);
tmlp_u8_lookup_fn tmlp_u8_lookup_function(void);

/* dispatch.c: the function of a kernel (NULL for BLAS, AUTO or one the CPU lacks). */
tmlp_kernel_fn tmlp_kernel_function(tmlp_kernel k);
/* Its row-pointer twin (F32 only; NULL where tmlp_kernel_function is NULL). */
tmlp_kernel_rows_fn tmlp_kernel_rows_function(tmlp_kernel k);
/* Turn a request (model options; AUTO = look at TMLP_KERNELS, then cpuid) into a kernel the
 * CPU has. *source: "model options", "TMLP_KERNELS" or "cpuid" (static). TMLP_ERR_ARG with
 * err filled if the request is unknown or unavailable. */
tmlp_status tmlp_kernel_resolve(tmlp_kernel requested, tmlp_kernel *chosen, const char **source,
                                tmlp_error *err);
/* Largest batch a Dense(in -> out) layer runs on kernel k (above it: BLAS). forced (chosen
 * by options or TMLP_KERNELS): every batch. BLAS: 0. */
int64_t tmlp_kernel_crossover(tmlp_kernel k, int forced, int64_t in, int64_t out);
/* "scalar,avx2,avx512,blas" (arm64: "scalar,blas,neon,..."): the kernels this machine can run. */
void tmlp_kernel_available_list(char *buf, size_t cap);

#endif
