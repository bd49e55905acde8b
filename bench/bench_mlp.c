/* bench_mlp.c — entry point: dispatch to a subcommand.
 *
 * `bench_mlp CMD ...` runs the subcommand CMD with argv[0] = CMD; anything else (no
 * arguments, or options) is the default run, cmd_run.c. `bench_mlp run ...` is the same
 * as the default run. Exit codes are in cli.h (0 ok, 1 runtime, 2 usage, 3 regression,
 * 130 interrupted).
 */
#include <string.h>

#include "commands.h"

int main(int argc, char **argv)
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
