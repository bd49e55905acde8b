/* corpus.h — replay a fuzzer's seed corpus as a unit test (header-only; include after
 * cmocka.h). Shared by test_idx and test_safetensors.
 *
 *   test_corpus_replay(name, parse, min_files)
 *       Feeds every file of fuzz/corpus/<name>/ (the seeds fuzz/make_corpus.py writes, plus
 *       any crash inputs added there as regression cases) to parse(bytes, size), which
 *       returns the parser's status (and makes its own checks on the error it filled).
 *       A file named bad_* must fail, any other must parse with TMLP_OK; a file breaking
 *       that rule fails the test with its name and status. Files are read up to 1 MiB
 *       (the fuzzers' -max_len is far below); names starting with '.' are passed over.
 *       At least min_files files must have been replayed, so an emptied corpus is noticed.
 *
 * The corpus is found from the fixture directory that `meson test` passes in
 * TMLP_FIXTURES (= <source>/tests/fixtures): $TMLP_FIXTURES/../../fuzz/corpus/<name>.
 * Run outside meson (TMLP_FIXTURES unset) or without the corpus, the test is skipped with
 * a message on stderr.
 */
#ifndef TMLP_TEST_CORPUS_H
#define TMLP_TEST_CORPUS_H

#include "tinymlp.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_CORPUS_MAX_FILE (1 << 20)

static inline void test_corpus_replay(const char *name,
                                      tmlp_status (*parse)(const unsigned char *b, size_t n),
                                      int min_files)
{
    const char *fx = getenv("TMLP_FIXTURES");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/../../fuzz/corpus/%s", fx ? fx : ".", name);
    DIR *d = fx ? opendir(dir) : NULL;
    if (!d) {
        fprintf(stderr, "SKIP: no corpus at %s (run through meson test)\n", dir);
        skip();
    }
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        unsigned char *buf = malloc(TEST_CORPUS_MAX_FILE);
        assert_non_null(buf);
        size_t n = fread(buf, 1, TEST_CORPUS_MAX_FILE, fp);
        fclose(fp);
        tmlp_status s = parse(buf, n);
        int want_ok = strncmp(e->d_name, "bad_", 4) != 0;
        if ((s == TMLP_OK) != want_ok) {
            print_error("%s: status %d\n", e->d_name, s);
            fail();
        }
        free(buf);
        files++;
    }
    closedir(d);
    assert_true(files >= min_files);
}

#endif
