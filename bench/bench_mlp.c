/* bench_mlp.c — entry point: dispatch to a subcommand.
 *
 * `bench_mlp CMD ...` runs the subcommand CMD with argv[0] = CMD; anything else (no
 * arguments, or options) is the default run, cmd_run.c. `bench_mlp run ...` is the same
 * as the default run. Exit codes are in cli.h (0 ok, 1 runtime, 2 usage, 3 regression,
 * 130 / 143 interrupted by SIGINT / SIGTERM).
 *
 * What every command gets here rather than in each command:
 *   - OpenBLAS at its best core. OpenBLAS fixes its kernels when it loads, from cpuid,
 *     and 0.3.21 runs its generic ones on CPUs it does not know. If OPENBLAS_CORETYPE is
 *     unset and tmlp_blas_info.advice says the running core is older than the CPU,
 *     bench_mlp re-executes itself (/proc/self/exe, same argv, same pid) with
 *     OPENBLAS_CORETYPE set to tmlp_blas_best_core() and TMLP_BLAS_CORE_SOURCE=bench_mlp,
 *     so that the JSON context says who chose. A value the user set is never touched. The
 *     chosen core is then checked once (tmlp_blas_check_core: a small sgemm against the
 *     scalar kernel); if it fails, bench_mlp restarts once more without it and says so.
 *   - --kernels K and --precision P (or --kernels=K, --precision=P) anywhere on the command
 *     line are taken out and handed to every model load of the process (tmlp_cli_models_set:
 *     the kernel and precision of tmlp_model_options), so every command honours them; an
 *     unknown or unavailable kernel is a usage error (exit 2). The environment is not the
 *     channel: TMLP_KERNELS / TMLP_PRECISION stay the user's, read by the library.
 *   - --version on every subcommand (`bench_mlp CMD --version` prints what
 *     `bench_mlp --version` prints);
 *   - SIGINT and SIGTERM handlers (cli.c), and one line naming the signal at the end;
 *   - a checked standard output: results written to a full disk or a closed pipe must not
 *     exit 0. stdout is flushed and closed here and any error is exit 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_config.h"
#include "cli.h"
#include "commands.h"
#include "tinymlp/blas.h"
#include "tinymlp/kernels.h"
#include "run.h"

static void blas_best_core(char **argv)
{
    const char *src = getenv("TMLP_BLAS_CORE_SOURCE");
    if (getenv("OPENBLAS_CORETYPE")) {
        if (!src || strcmp(src, "bench_mlp")) return; /* the user's choice */
        double e = 0;
        if (tmlp_blas_check_core(&e, NULL) == TMLP_OK) return;
        fprintf(stderr, "bench_mlp: OpenBLAS core %s failed its check (error %.2g vs the scalar "
                        "kernel); restarting with OpenBLAS's own choice\n", getenv("OPENBLAS_CORETYPE"), e);
        unsetenv("OPENBLAS_CORETYPE");
        setenv("TMLP_BLAS_CORE_SOURCE", "rejected", 1);
        execv("/proc/self/exe", argv);
        return; /* exec failed: run on with the core we have */
    }
    if (src) return; /* already restarted once (rejected): do not loop */
    tmlp_blas_info bi;
    tmlp_blas_get_info(&bi);
    if (!bi.advice[0] || !bi.best_core[0]) return;
    setenv("OPENBLAS_CORETYPE", bi.best_core, 1);
    setenv("TMLP_BLAS_CORE_SOURCE", "bench_mlp", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: keep the generic kernels; every report prints the advice */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("TMLP_BLAS_CORE_SOURCE");
}

/* Take every --NAME V / --NAME=V out of argv (the last wins): *value gets it, NULL when
 * absent. 0 or TMLP_EXIT_USAGE (a missing value; `hint` lists the accepted ones). */
static int take_option(int *argc, char **argv, const char *name, const char *hint, const char **value)
{
    size_t n = strlen(name);
    int w = 1;
    *value = NULL;
    for (int i = 1; i < *argc; i++) {
        if (!strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, name)) {
            if (i + 1 >= *argc) return tmlp_cli_usage_error("--%s: needs a value (%s)", name, hint);
            *value = argv[++i];
        } else if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, name, n) && argv[i][2 + n] == '=') {
            *value = argv[i] + 3 + n;
        } else {
            argv[w++] = argv[i];
        }
    }
    argv[w] = NULL;
    *argc = w;
    return 0;
}

/* --kernels K and --precision P, options of every command: taken out of argv, checked
 * against this CPU (and the user's TMLP_KERNELS / TMLP_PRECISION, which the library reads
 * when no option is given), and handed to every model load of this process through
 * tmlp_cli_models_set, never through the environment. 0 or TMLP_EXIT_USAGE. */
static int take_model_choice(int *argc, char **argv)
{
    const char *kv, *pv;
    int rc = take_option(argc, argv, "kernels", "scalar, avx2, avx512, blas, neon, neon_dotprod, neon_bf16, auto", &kv);
    if (!rc) rc = take_option(argc, argv, "precision", "f32, bf16, int8", &pv);
    if (rc) return rc;
    tmlp_kernel k = TMLP_KERNEL_AUTO;
    tmlp_precision p = TMLP_PRECISION_AUTO;
    const char *ks = kv ? kv : getenv("TMLP_KERNELS"), *ps = pv ? pv : getenv("TMLP_PRECISION");
    if (ks && *ks && tmlp_kernel_parse(ks, &k, NULL) != TMLP_OK)
        return tmlp_cli_usage_error("--kernels / TMLP_KERNELS: '%s' is not one of scalar, avx2, avx512, blas, "
                                    "neon, neon_dotprod, neon_bf16, auto", ks);
    if (ks && *ks && !tmlp_kernel_available(k)) {
        tmlp_cli_error("--kernels / TMLP_KERNELS: kernel '%s' is not available on this CPU (it lacks %s)",
                       ks, k == TMLP_KERNEL_AVX512 ? "AVX-512F" : k == TMLP_KERNEL_AVX2 ? "AVX2 and FMA"
                           : k == TMLP_KERNEL_NEON ? "arm64 NEON" : k == TMLP_KERNEL_NEON_DOTPROD
                           ? "arm64 NEON with the dot product extension" : "arm64 NEON with BF16");
        return TMLP_EXIT_USAGE;
    }
    if (ps && *ps && tmlp_precision_parse(ps, &p, NULL) != TMLP_OK)
        return tmlp_cli_usage_error("--precision / TMLP_PRECISION: '%s' is not one of f32, bf16, int8, auto%s", ps,
                                    strchr(ps, ',') ? " (one per run; `bench_mlp report --precisions "
                                                      "f32,bf16,int8` compares several)" : "");
    /* the environment's values stay the library's to read: only the options are passed on */
    tmlp_cli_models_set(kv ? k : TMLP_KERNEL_AUTO, pv ? p : TMLP_PRECISION_AUTO);
    return 0;
}

/* Every subcommand takes --version (before a "--"): the same line as `bench_mlp --version`. */
static int asks_version(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--version")) return 1;
    return 0;
}

static int dispatch(int argc, char **argv)
{
    int rc = take_model_choice(&argc, argv);
    if (rc) return rc;
    if (argc > 1 && strncmp(argv[1], "-", 1) && asks_version(argc, argv)) {
        printf("bench_mlp (tinymlp) %s, git %s, %s build\n", tmlp_version(), tmlp_context_git(),
               TMLP_BUILD_TYPE);
        return TMLP_EXIT_OK;
    }
    if (argc > 1) {
        const char *c = argv[1];
        if (!strcmp(c, "compare")) return tmlp_cmd_compare(argc - 1, argv + 1);
        if (!strcmp(c, "report")) return tmlp_cmd_report(argc - 1, argv + 1);
        if (!strcmp(c, "ab")) return tmlp_cmd_ab(argc - 1, argv + 1);
        if (!strcmp(c, "regress")) return tmlp_cmd_regress(argc - 1, argv + 1);
        if (!strcmp(c, "profile")) return tmlp_cmd_profile(argc - 1, argv + 1);
        if (!strcmp(c, "plan")) return tmlp_cmd_plan(argc - 1, argv + 1);
        if (!strcmp(c, "history")) return tmlp_cmd_history(argc - 1, argv + 1);
        if (!strcmp(c, "run")) return tmlp_cmd_run(argc - 1, argv + 1);
    }
    return tmlp_cmd_run(argc, argv);
}

int main(int argc, char **argv)
{
    blas_best_core(argv);
    tmlp_cli_signals_install();
    int rc = dispatch(argc, argv);
    /* fclose, not only fflush: on NFS and some FUSE file systems the error comes at close */
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad && (rc == TMLP_EXIT_OK || rc == TMLP_EXIT_REGRESSION)) {
        tmlp_cli_error("cannot write the results to standard output: %s", strerror(e ? e : EIO));
        rc = TMLP_EXIT_RUNTIME;
    }
    if (tmlp_cli_stop) {
        tmlp_cli_error("interrupted by %s: runs measured so far are marked INVALID (interrupted); "
                       "files named by --output and --trace are unchanged",
                       tmlp_cli_signal_name(tmlp_cli_stop));
        rc = tmlp_cli_interrupted_exit();
    }
    return rc;
}
