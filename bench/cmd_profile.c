/* cmd_profile.c — bench_mlp profile (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_profile(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'profile' is not implemented yet\n");
    return 1;
}
