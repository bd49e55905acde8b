/* cmd_plan.c — bench_mlp plan (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_plan(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'plan' is not implemented yet\n");
    return 1;
}
