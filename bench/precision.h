/* precision.h (bench) — the accuracy cost of a reduced weight precision, measured as a paired
 * comparison: every sample through model A (the reference, F32) and model B (BF16, INT8 or
 * anything else) on the same images. docs/precision.md explains the statistics. */
#ifndef TMLP_BENCH_PRECISION_H
#define TMLP_BENCH_PRECISION_H

#include "tinymlp.h"

#include <stdio.h>

#include <cjson/cJSON.h>

typedef struct tmlp_paired_acc {
    int64_t n;                 /* samples compared (all of the data set) */
    int64_t labeled;           /* of which labelled (accuracy, McNemar); 0 = none */
    int64_t correct_a, correct_b;
    int64_t a_only, b_only;    /* discordant: only A right, only B right */
    int64_t agree_top1;        /* same argmax, labelled or not */
    double max_abs_logit, mean_abs_logit; /* |logit_B - logit_A|, logits centred per row */
    int logits_from_softmax;   /* 1: the model ends in softmax; logits = log p centred */
    int64_t logit_skipped;     /* probabilities that underflowed to 0 (left out) */
    double mcnemar_p;          /* two-sided */
    int mcnemar_exact;         /* 1: exact binomial (discordant < 25), 0: chi-square, cc */
    double mcnemar_chi2;
    double diff, ci_low, ci_high; /* accuracy B - A and its paired (Wald) interval */
} tmlp_paired_acc;

/* Run every sample of d through A and B (sessions of up to 256 rows) and fill r. Prints a
 * one-line error and returns TMLP_EXIT_RUNTIME on failure. */
int tmlp_paired_run(const tmlp_model *a, const tmlp_model *b, const tmlp_dataset *d, double alpha,
                    tmlp_paired_acc *r);
/* The block of text: accuracy, agreement, logit errors, McNemar, the CI. */
void tmlp_paired_print(FILE *f, const char *name_a, const char *name_b, const tmlp_paired_acc *r,
                       double alpha);

/* The same comparison as a JSON object (the run's "paired_vs_f32", docs/bench_mlp.md):
 * reference, precision, samples, labeled, accuracy_reference, accuracy, difference,
 * ci_low, ci_high, confidence, top1_agreement, agree_top1, discordant {reference_only,
 * precision_only}, mcnemar {p, method, chi2}, logit_error {max, mean, from_softmax,
 * rows_skipped}. Figures without labels are null. Built with the checked helpers of
 * run.h: a failed allocation is counted by tmlp_json_failures(); NULL on out-of-memory. */
cJSON *tmlp_paired_json(const tmlp_paired_acc *r, const char *name_a, const char *name_b, double alpha);

/* Load a model spec (path or synthetic:AxBx.., seed as given) at precision p (AUTO: the
 * command line's --precision, else the library's default), with the command line's kernel. Prints a one-line error; 0 or TMLP_EXIT_RUNTIME / _USAGE. */
int tmlp_precision_load(const char *spec, const char *layers, uint64_t synthetic_seed, tmlp_precision p,
                        tmlp_model **out);

/* "int8 (avx512_vnni), 709 KB of weights" into buf. */
void tmlp_precision_describe(const tmlp_model *m, char *buf, size_t cap);

#endif
