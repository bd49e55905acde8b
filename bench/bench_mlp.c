/* bench_mlp.c — entry point: dispatch to a subcommand.
 *
 * `bench_mlp CMD ...` runs the subcommand CMD with argv[0] = CMD; anything else (no
 * arguments, or options) is the default run, cmd_run.c. `bench_mlp run ...` is the same
 * as the default run. Exit codes are in cli.h (0 ok, 1 runtime, 2 usage, 3 regression,
 * 130 / 143 interrupted by SIGINT / SIGTERM).
 *
 * Two things every command gets here rather than in each command:
 *   - SIGINT and SIGTERM handlers (cli.c), and one line naming the signal at the end;
 *   - a checked standard output: results written to a full disk or a closed pipe must not
 *     exit 0. stdout is flushed and closed here and any error is exit 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static int dispatch(int argc, char **argv)
{
    if (argc > 1) {
        const char *c = argv[1];
        if (!strcmp(c, "compare")) return tmlp_cmd_compare(argc - 1, argv + 1);
        if (!strcmp(c, "report")) return tmlp_cmd_report(argc - 1, argv + 1);
        if (!strcmp(c, "ab")) return tmlp_cmd_ab(argc - 1, argv + 1);
        if (!strcmp(c, "regress")) return tmlp_cmd_regress(argc - 1, argv + 1);
        if (!strcmp(c, "profile")) return tmlp_cmd_profile(argc - 1, argv + 1);
        if (!strcmp(c, "plan")) return tmlp_cmd_plan(argc - 1, argv + 1);
        if (!strcmp(c, "run")) return tmlp_cmd_run(argc - 1, argv + 1);
    }
    return tmlp_cmd_run(argc, argv);
}

int main(int argc, char **argv)
{
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
