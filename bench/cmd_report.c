/* cmd_report.c — bench_mlp report (not written yet: reports that and fails). */
#include "commands.h"
#include <stdio.h>
int tmlp_cmd_report(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bench_mlp: 'report' is not implemented yet\n");
    return 1;
}
