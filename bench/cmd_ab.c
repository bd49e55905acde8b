/* cmd_ab.c — bench_mlp ab (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_ab(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'ab' is not implemented yet\n");
    return 1;
}
