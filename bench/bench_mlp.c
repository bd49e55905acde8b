/* bench_mlp.c — placeholder until the CLI lands. */
#include "tinymlp.h"
int main(void) { return 0; }
