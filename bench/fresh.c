/* fresh.c — `--repeat-mode exec`: each repetition of a run in a fresh process.
 *
 * Why: the repetitions of one process share its state — where the allocator and the
 * kernel put the buffers and pages, ASLR, the CPU frequency at that minute, which core the
 * scheduler favours — so their spread can be smaller than the spread between two
 * invocations, and a comparison of two invocations then reads that extra variance as a
 * change (docs/statistics.md, "Repetitions in one process or in fresh ones"). Running each
 * repetition as a new process, as hyperfine runs each command anew, puts that variance
 * inside the repetitions, where the noise floor sees it.
 *
 * How: the parent re-executes its own binary (/proc/self/exe, so the same build) once per
 * repetition with the workload options of its tmlp_run_opts (tmlp_run_opts_child_argv,
 * workload_opts.c: never what only the parent does, the output files, the format,
 * --repeat, the gate) plus `--results-fd FD`. The child runs
 * every scenario once, prints nothing, and writes each row's result to FD as
 *     "TMLPREP1" | u32 rows | per row: u64 length | tmlp_bench_result_pack bytes
 * (the pack format carries a result between processes of one build: include/tinymlp/
 * bench.h). The parent unpacks them and treats them exactly as repetitions it ran itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"

#define FRESH_MAGIC "TMLPREP1"
#define FRESH_MAX_RESULT (UINT64_C(1) << 36) /* 64 GiB: a sanity bound on one length field */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 all n bytes read, 0 end of file before any, -1 error or a short read. */
static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

int tmlp_fresh_emit(int fd, tmlp_bench_result *const *results, int n)
{
    uint32_t rows = (uint32_t)n;
    if (write_all(fd, FRESH_MAGIC, 8) || write_all(fd, &rows, sizeof rows)) return -1;
    for (int i = 0; i < n; i++) {
        void *buf = NULL;
        size_t len = 0;
        if (tmlp_bench_result_pack(results[i], &buf, &len, NULL) != TMLP_OK) return -1;
        uint64_t l = len;
        int bad = write_all(fd, &l, sizeof l) || write_all(fd, buf, len);
        free(buf);
        if (bad) return -1;
    }
    return 0;
}

/* Read one child's frames into out[0..n); 0, or -1 with out[] freed. */
static int read_results(int fd, int n, tmlp_bench_result **out, char *why, size_t cap)
{
    char magic[8];
    uint32_t rows = 0;
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (read_all(fd, magic, 8) != 1 || memcmp(magic, FRESH_MAGIC, 8) || read_all(fd, &rows, sizeof rows) != 1 ||
        rows != (uint32_t)n) {
        snprintf(why, cap, "it sent no results (or %u rows for %d)", rows, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        uint64_t len = 0;
        void *buf = NULL;
        if (read_all(fd, &len, sizeof len) != 1 || len == 0 || len > FRESH_MAX_RESULT || !(buf = malloc(len)) ||
            read_all(fd, buf, len) != 1) {
            free(buf);
            snprintf(why, cap, "its result %d of %d is truncated", i + 1, n);
            goto fail;
        }
        tmlp_error e = {0};
        tmlp_status st = tmlp_bench_result_unpack(buf, len, &out[i], &e);
        free(buf);
        if (st != TMLP_OK) {
            snprintf(why, cap, "its result %d: %.200s", i + 1, e.message);
            goto fail;
        }
    }
    return 0;
fail:
    for (int i = 0; i < n; i++) {
        tmlp_bench_result_destroy(out[i]);
        out[i] = NULL;
    }
    return -1;
}

int tmlp_fresh_run(char **child_argv, int fd_slot, int n_rows, tmlp_bench_result **out, int *child_pid)
{
    int p[2];
    if (pipe(p) != 0) {
        tmlp_cli_error("--repeat-mode exec: cannot make a pipe: %s", strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", p[1]);
    child_argv[fd_slot] = fd_text;
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        tmlp_cli_error("--repeat-mode exec: cannot start a process: %s", strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    if (pid == 0) {
        close(p[0]);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO); /* the child prints nothing; errors go to stderr */
        execv("/proc/self/exe", child_argv);
        _exit(127);
    }
    close(p[1]);
    *child_pid = (int)pid;
    char why[256] = "";
    int bad = read_results(p[0], n_rows, out, why, sizeof why);
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (bad || code != 0) {
        for (int i = 0; !bad && i < n_rows; i++) tmlp_bench_result_destroy(out[i]);
        if (!tmlp_cli_stop)
            tmlp_cli_error("--repeat-mode exec: the repetition's process exited %d%s%s", code, bad ? ": " : "",
                           bad ? why : "");
        return code == TMLP_EXIT_USAGE ? TMLP_EXIT_USAGE : TMLP_EXIT_RUNTIME;
    }
    return 0;
}
