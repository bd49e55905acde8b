/* cmd_run.c — bench_mlp run (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'run' is not implemented yet\n");
    return 1;
}
