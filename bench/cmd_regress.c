/* cmd_regress.c — bench_mlp regress (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_regress(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'regress' is not implemented yet\n");
    return 1;
}
