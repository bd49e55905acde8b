/* commands.h — bench_mlp's subcommands. Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage error, 3 regression found (regress, history gate), 130 interrupted.
 * argv[0] is the subcommand name ("compare", ...); for the default run it is "bench_mlp". */
#ifndef TMLP_BENCH_COMMANDS_H
#define TMLP_BENCH_COMMANDS_H

int tmlp_cmd_run(int argc, char **argv);     /* bench_mlp [run options]      bench/cmd_run.c */
int tmlp_cmd_compare(int argc, char **argv); /* bench_mlp compare A B        bench/cmd_compare.c */
int tmlp_cmd_report(int argc, char **argv);  /* bench_mlp report ...         bench/cmd_report.c */
int tmlp_cmd_ab(int argc, char **argv);      /* bench_mlp ab ...             bench/cmd_ab.c */
int tmlp_cmd_regress(int argc, char **argv); /* bench_mlp regress BASE CUR   bench/cmd_regress.c */
int tmlp_cmd_profile(int argc, char **argv); /* bench_mlp profile ...        bench/cmd_profile.c */
int tmlp_cmd_plan(int argc, char **argv);    /* bench_mlp plan ...           bench/cmd_plan.c */
int tmlp_cmd_history(int argc, char **argv); /* bench_mlp history SUB DB ...  bench/cmd_history.c */

#endif
