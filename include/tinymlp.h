/* tinymlp.h — a small, fast and honest MLP inference engine on OpenBLAS, with a
 * LoadGen-style benchmark harness. Include this one header; link with
 * `$(pkg-config --cflags --libs tinymlp)`.
 *
 * The pieces (one header each under tinymlp/):
 *   common.h  status codes, tmlp_error, the allocator hook, tensor views, the clock
 *   model.h   tmlp_model (layers + weights, immutable once built) and tmlp_session
 *             (per-thread buffers); load/save .safetensors, build from C, forward
 *   blas.h    BLAS thread count and configuration     rng.h   seeded PRNG and hashes
 *   data.h    data sets (IDX, safetensors, synthetic)   stats.h statistics
 *   bench.h   the benchmark harness                     safetensors.h  your own tensors
 *   svg.h     SVG plots of latencies and throughput     monitor.h  resource monitor
 *   queue.h   queueing-model predictions                ab.h   A/B router and SRM test
 *   regress.h the regression gate's decision rule       report.h Markdown + HTML report writer
 *
 * Ownership:
 *   - tmlp_tensor and the settings/result structs are transparent VALUES: put them on
 *     the stack. A tensor is a view; it never owns the memory `data` points to.
 *   - tmlp_model, tmlp_session (and the harness's handles) are OPAQUE: whoever calls
 *     *_create / *_load calls the matching *_destroy; every destroy accepts NULL.
 *   - The library keeps no pointer to your memory after a call returns (weights are
 *     copied). An output tensor is a view into the session, valid until its next forward.
 * Errors:
 *   - Every fallible call returns tmlp_status: TMLP_OK (0) or a negative TMLP_ERR_* code
 *     (tmlp_status_str names it), and takes as its LAST parameter an optional tmlp_error*
 *     (NULL is fine) that receives a one-line message naming the file, tensor, expected
 *     and actual value: docs/c-api.md, "Errors".
 *   - The library never prints, exits or aborts on bad input, bad files or out-of-memory.
 * Threads:
 *   - A finished model is read-only: share it between any number of threads, each with
 *     its own session. Build (tmlp_model_add_*) on one thread, before the first session.
 *   - No mutable global state, except OpenBLAS's process-wide thread count (blas.h).
 *
 * Example — load, run one input, print the class (examples/quickstart.c is the full one):
 *
 *     tmlp_model *m = NULL;  tmlp_session *s = NULL;  tmlp_error err;
 *     float x[784] = {0};                           // one input row, filled by you
 *     tmlp_tensor in = tmlp_tensor_2d(x, 1, 784), out;
 *     if (tmlp_model_load("mnist.safetensors", NULL, &m, &err) != TMLP_OK ||
 *         tmlp_session_create(m, 1, &s, &err) != TMLP_OK ||
 *         tmlp_session_forward(s, &in, &out, &err) != TMLP_OK)     // out: (1, 10) view into s
 *         fprintf(stderr, "%s\n", err.message);
 *     else
 *         printf("class %lld\n", (long long)tmlp_argmax(out.data, out.shape[1]));
 *     tmlp_session_destroy(s);                      // both accept NULL
 *     tmlp_model_destroy(m);
 *
 * Without a file: tmlp_model_create + tmlp_model_add_dense/relu/softmax (then, optionally,
 * tmlp_model_load_weights to fill it from a .safetensors file), or
 * tmlp_model_random(widths, n, seed, NULL, &m, &err) for a seeded MLP.
 */
#ifndef TINYMLP_H
#define TINYMLP_H
#include "tinymlp/common.h"
#include "tinymlp/model.h"
#include "tinymlp/blas.h"
#include "tinymlp/kernels.h"
#include "tinymlp/rng.h"
#include "tinymlp/data.h"
#include "tinymlp/stats.h"
#include "tinymlp/bench.h"
#include "tinymlp/svg.h"
#include "tinymlp/monitor.h"
#include "tinymlp/queue.h"
#include "tinymlp/ab.h"
#include "tinymlp/regress.h"
#include "tinymlp/report.h"
#include "tinymlp/safetensors.h"
#include "tinymlp/file.h"
#endif
