/* precision.c (bench) — paired accuracy of two models on the same samples (precision.h).
 *
 * Why paired: A (F32) and B (INT8) see the same 10,000 images, so their errors are strongly
 * correlated; comparing two accuracies as if independent (a two-proportion test) throws
 * that away and needs a difference of ~0.9 points to see anything on 10,000 samples. What
 * carries the information is the discordant samples: b = only A right, c = only B right.
 *   McNemar: under "no difference" each discordant sample is B's win with probability 1/2.
 *     b + c < 25: exact two-sided binomial p = min(1, 2 P[Bin(b+c, 1/2) <= min(b, c)]);
 *     otherwise chi2 = (|b - c| - 1)^2 / (b + c) (continuity corrected), 1 df.
 *   Difference B - A = (c - b) / n with the paired Wald interval
 *     se = sqrt((b + c) - (c - b)^2 / n) / n,   diff +- z_{1-alpha/2} se.
 * Logit error: logits are defined only up to a per-row constant through softmax, so both
 * rows are centred (minus their mean) before |B - A| is taken; for a model ending in
 * softmax they come from log p (exact to ~1e-7 while p does not underflow to 0).
 */
#include "precision.h"

#include "cli.h"
#include "run.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAIRED_BATCH 256

/* Two-sided exact binomial (p = 1/2) test of k = min(b, c) out of n. */
static double binom_two_sided(int64_t k, int64_t n)
{
    double tail = 0, lp = -(double)n * log(2.0);
    for (int64_t i = 0; i <= k; i++) {
        tail += exp(lp);
        lp += log((double)(n - i)) - log((double)(i + 1)); /* C(n, i+1) / C(n, i) */
    }
    return fmin(1.0, 2.0 * tail);
}

/* z with P[Z > z] = q, by bisection on erfc (q in (0, 0.5)). */
static double z_upper(double q)
{
    double lo = 0, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / sqrt(2.0)) > q) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void centred(const float *y, int64_t n, int from_softmax, double *z, int *ok)
{
    double mean = 0;
    *ok = 1;
    for (int64_t j = 0; j < n; j++) {
        double v = y[j];
        if (from_softmax) {
            if (!(v > 0)) {
                *ok = 0;
                return;
            }
            v = log(v);
        }
        z[j] = v;
        mean += v / (double)n;
    }
    for (int64_t j = 0; j < n; j++) z[j] -= mean;
}

static tmlp_status forward_rows(tmlp_session *s, const tmlp_dataset *d, int64_t first, int64_t rows,
                                tmlp_tensor *out)
{
    if (d->dtype == TMLP_DTYPE_U8) return tmlp_session_forward_u8(s, d->u8 + first * d->width, rows, out, NULL);
    tmlp_tensor in = tmlp_tensor_2d(d->f32 + first * d->width, rows, d->width);
    return tmlp_session_forward(s, &in, out, NULL);
}

int tmlp_paired_run(const tmlp_model *a, const tmlp_model *b, const tmlp_dataset *d, double alpha,
                    tmlp_paired_acc *r)
{
    memset(r, 0, sizeof *r);
    const int64_t ow = tmlp_model_output_width(a);
    if (ow != tmlp_model_output_width(b) || tmlp_model_input_width(a) != tmlp_model_input_width(b)) {
        tmlp_cli_error("paired accuracy: the models differ in shape (%" PRId64 " vs %" PRId64 " outputs)", ow,
                       tmlp_model_output_width(b));
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_layer_info li;
    const int nl = tmlp_model_layer_count(a);
    r->logits_from_softmax = nl > 0 && tmlp_model_layer_info(a, nl - 1, &li, NULL) == TMLP_OK &&
                             li.kind == TMLP_LAYER_SOFTMAX;
    tmlp_session *sa = NULL, *sb = NULL;
    double *za = malloc(sizeof(double) * (size_t)ow), *zb = malloc(sizeof(double) * (size_t)ow);
    int rc = 0;
    if (!za || !zb || tmlp_session_create(a, PAIRED_BATCH, &sa, NULL) != TMLP_OK ||
        tmlp_session_create(b, PAIRED_BATCH, &sb, NULL) != TMLP_OK) {
        tmlp_cli_error("paired accuracy: out of memory");
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    double sum_abs = 0;
    int64_t n_abs = 0;
    for (int64_t first = 0; first < d->count; first += PAIRED_BATCH) {
        const int64_t rows = d->count - first < PAIRED_BATCH ? d->count - first : PAIRED_BATCH;
        tmlp_tensor ya, yb;
        if (forward_rows(sa, d, first, rows, &ya) != TMLP_OK || forward_rows(sb, d, first, rows, &yb) != TMLP_OK) {
            tmlp_cli_error("paired accuracy: a forward pass failed");
            rc = TMLP_EXIT_RUNTIME;
            goto done;
        }
        for (int64_t i = 0; i < rows; i++) {
            const float *pa = ya.data + i * ow, *pb = yb.data + i * ow;
            const int64_t ta = tmlp_argmax(pa, ow), tb = tmlp_argmax(pb, ow);
            r->n++;
            r->agree_top1 += ta == tb;
            if (d->labels) {
                const int64_t lab = d->labels[first + i];
                const int ra = ta == lab, rb = tb == lab;
                r->labeled++;
                r->correct_a += ra;
                r->correct_b += rb;
                r->a_only += ra && !rb;
                r->b_only += rb && !ra;
            }
            int oka, okb;
            centred(pa, ow, r->logits_from_softmax, za, &oka);
            centred(pb, ow, r->logits_from_softmax, zb, &okb);
            if (!oka || !okb) {
                r->logit_skipped++;
                continue;
            }
            for (int64_t j = 0; j < ow; j++) {
                const double e = fabs(zb[j] - za[j]);
                if (e > r->max_abs_logit) r->max_abs_logit = e;
                sum_abs += e;
                n_abs++;
            }
        }
    }
    r->mean_abs_logit = n_abs ? sum_abs / (double)n_abs : NAN;
    const int64_t bd = r->a_only, cd = r->b_only, nd = bd + cd, n = r->labeled;
    r->mcnemar_exact = nd < 25;
    if (nd == 0) r->mcnemar_p = 1.0;
    else if (r->mcnemar_exact) r->mcnemar_p = binom_two_sided(bd < cd ? bd : cd, nd);
    else {
        const double t = fabs((double)(bd - cd)) - 1.0;
        r->mcnemar_chi2 = t > 0 ? t * t / (double)nd : 0.0;
        r->mcnemar_p = erfc(sqrt(r->mcnemar_chi2 / 2.0));
    }
    if (n > 0) {
        r->diff = (double)(cd - bd) / (double)n;
        const double var = (double)nd - (double)(cd - bd) * (double)(cd - bd) / (double)n;
        const double se = var > 0 ? sqrt(var) / (double)n : 0.0, z = z_upper(alpha / 2.0);
        r->ci_low = r->diff - z * se;
        r->ci_high = r->diff + z * se;
    }
done:
    tmlp_session_destroy(sa);
    tmlp_session_destroy(sb);
    free(za);
    free(zb);
    return rc;
}

void tmlp_paired_print(FILE *f, const char *name_a, const char *name_b, const tmlp_paired_acc *r, double alpha)
{
    fprintf(f, "Paired comparison, %s vs %s on the same %" PRId64 " samples:\n", name_b, name_a, r->n);
    if (r->labeled) {
        fprintf(f, "  accuracy       %s %.4f, %s %.4f   (%s - %s = %+.2f points, %.0f%% CI [%+.2f, %+.2f])\n", name_a,
                (double)r->correct_a / (double)r->labeled, name_b, (double)r->correct_b / (double)r->labeled, name_b,
                name_a, 100 * r->diff, 100 * (1 - alpha), 100 * r->ci_low, 100 * r->ci_high);
    }
    fprintf(f, "  top-1 agreement %.4f (%" PRId64 " of %" PRId64 " samples get the same class)\n",
            r->n ? (double)r->agree_top1 / (double)r->n : NAN, r->agree_top1, r->n);
    fprintf(f, "  logit error    max %.4g, mean %.4g (logits centred per row%s", r->max_abs_logit, r->mean_abs_logit,
            r->logits_from_softmax ? "; from log softmax" : "");
    if (r->logit_skipped) fprintf(f, "; %" PRId64 " rows with a probability of 0 left out", r->logit_skipped);
    fputs(")\n", f);
    if (r->labeled) {
        fprintf(f, "  McNemar        discordant %" PRId64 " (only %s right %" PRId64 ", only %s right %" PRId64 "): ",
                r->a_only + r->b_only, name_a, r->a_only, name_b, r->b_only);
        if (r->mcnemar_exact) fprintf(f, "exact binomial p = %.3g", r->mcnemar_p);
        else fprintf(f, "chi-square %.3f (1 df, continuity corrected), p = %.3g", r->mcnemar_chi2, r->mcnemar_p);
        fprintf(f, " -> %s\n", r->mcnemar_p < alpha ? "the accuracies differ" : "no significant accuracy difference");
    } else {
        fputs("  McNemar        n/a (the data has no labels)\n", f);
    }
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

cJSON *tmlp_paired_json(const tmlp_paired_acc *r, const char *name_a, const char *name_b, double alpha)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        tmlp_json_fail();
        return NULL;
    }
    const int lab = r->labeled > 0;
    const double n = (double)r->labeled;
    tmlp_json_add(o, "reference", cJSON_CreateString(name_a));
    tmlp_json_add(o, "precision", cJSON_CreateString(name_b));
    tmlp_json_add(o, "samples", cJSON_CreateNumber((double)r->n));
    tmlp_json_add(o, "labeled", cJSON_CreateNumber((double)r->labeled));
    tmlp_json_add(o, "accuracy_reference", lab ? cJSON_CreateNumber((double)r->correct_a / n) : cJSON_CreateNull());
    tmlp_json_add(o, "accuracy", lab ? cJSON_CreateNumber((double)r->correct_b / n) : cJSON_CreateNull());
    tmlp_json_add(o, "difference", lab ? num_or_null(r->diff) : cJSON_CreateNull());
    tmlp_json_add(o, "ci_low", lab ? num_or_null(r->ci_low) : cJSON_CreateNull());
    tmlp_json_add(o, "ci_high", lab ? num_or_null(r->ci_high) : cJSON_CreateNull());
    tmlp_json_add(o, "confidence", cJSON_CreateNumber(1.0 - alpha));
    tmlp_json_add(o, "top1_agreement", r->n ? cJSON_CreateNumber((double)r->agree_top1 / (double)r->n) : cJSON_CreateNull());
    tmlp_json_add(o, "agree_top1", cJSON_CreateNumber((double)r->agree_top1));
    if (lab) {
        cJSON *d = cJSON_CreateObject();
        tmlp_json_add(d, "reference_only", cJSON_CreateNumber((double)r->a_only));
        tmlp_json_add(d, "precision_only", cJSON_CreateNumber((double)r->b_only));
        tmlp_json_add(o, "discordant", d);
        cJSON *m = cJSON_CreateObject();
        tmlp_json_add(m, "p", num_or_null(r->mcnemar_p));
        tmlp_json_add(m, "method", cJSON_CreateString(r->mcnemar_exact ? "exact_binomial" : "chi_square_cc"));
        tmlp_json_add(m, "chi2", r->mcnemar_exact ? cJSON_CreateNull() : num_or_null(r->mcnemar_chi2));
        tmlp_json_add(o, "mcnemar", m);
    } else {
        tmlp_json_add(o, "discordant", cJSON_CreateNull());
        tmlp_json_add(o, "mcnemar", cJSON_CreateNull());
    }
    cJSON *e = cJSON_CreateObject();
    tmlp_json_add(e, "max", num_or_null(r->max_abs_logit));
    tmlp_json_add(e, "mean", num_or_null(r->mean_abs_logit));
    tmlp_json_add(e, "from_softmax", cJSON_CreateBool(r->logits_from_softmax));
    tmlp_json_add(e, "rows_skipped", cJSON_CreateNumber((double)r->logit_skipped));
    tmlp_json_add(o, "logit_error", e);
    return o;
}

int tmlp_precision_load(const char *spec, const char *layers, uint64_t synthetic_seed, tmlp_precision p,
                        tmlp_model **out)
{
    tmlp_model_options o = tmlp_cli_model_options(); /* the command line's kernel (and precision) */
    if (p != TMLP_PRECISION_AUTO) o.precision = p;
    tmlp_error err = {0};
    tmlp_status st;
    if (!strncmp(spec, "synthetic:", 10)) {
        int64_t w[16];
        int n = 0, rc;
        if ((rc = tmlp_cli_parse_synthetic(spec, w, 16, &n))) return rc;
        st = tmlp_model_random(w, n, synthetic_seed, &o, out, &err);
    } else {
        o.layers = layers;
        st = tmlp_model_load(spec, &o, out, &err);
    }
    if (st != TMLP_OK) {
        tmlp_cli_error("--model %s at precision %s: %s", spec, tmlp_precision_name(p),
                       err.message[0] ? err.message : tmlp_status_str(st));
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

void tmlp_precision_describe(const tmlp_model *m, char *buf, size_t cap)
{
    tmlp_kernel_info ki;
    size_t bytes = 0;
    if (tmlp_model_kernel_info(m, &ki, NULL) != TMLP_OK) {
        snprintf(buf, cap, "unknown");
        return;
    }
    for (int i = 0; i < tmlp_model_layer_count(m); i++) {
        tmlp_layer_info li;
        if (tmlp_model_layer_info(m, i, &li, NULL) == TMLP_OK) bytes += li.stream_bytes;
    }
    snprintf(buf, cap, "%s (%s, %s), %zu bytes of weights streamed per forward", tmlp_precision_name(ki.precision),
             ki.precision_source, ki.isa, bytes);
}
