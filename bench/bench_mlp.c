/* bench_mlp.c — entry point: dispatch to a subcommand (owned by the CLI work). */
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
    }
    return tmlp_cmd_run(argc, argv);
}
