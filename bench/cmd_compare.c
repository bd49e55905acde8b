/* cmd_compare.c — bench_mlp compare (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_compare(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'compare' is not implemented yet\n");
    return 1;
}
