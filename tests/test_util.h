/* Minimal test harness: CHECK counts failures; tensor comparisons print the first differing
 * values; test_summary prints "N passed, N failed" and returns the exit code. */
#ifndef WSSS_TEST_UTIL_H
#define WSSS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

#include "wsss/autograd.h"
#include "wsss/error.h"
#include "wsss/tensor.h"

extern int g_test_passed, g_test_failed;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            g_test_passed++;                                                               \
        } else {                                                                           \
            g_test_failed++;                                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* Compare got with want elementwise: |got - want| <= atol + rtol * |want|. Prints up to 5 first
 * differing values with their multi-index, counts one pass/fail, returns the max abs error.
 * Shapes must match (a mismatch is a failure). */
double check_close(const char *what, const wsss_tensor *got, const wsss_tensor *want, double atol,
                   double rtol);
/* Max relative error max|got-want| / max(max|want|, tiny), reported by parity tests. */
double max_rel_error(const wsss_tensor *got, const wsss_tensor *want);

/* Load a tensor from tests/fixtures/<file> (safetensors); aborts the test with a message if absent. */
wsss_tensor *fixture_load(const char *file, const char *name);
/* Path helpers: a fresh per-test temp directory under the build tree. */
const char *test_tmp_dir(const char *test_name);

/* Random tensor (persistent) with values in [lo, hi), from a seeded generator. */
wsss_tensor *rand_tensor(wsss_dtype dt, int ndim, const int64_t *shape, double lo, double hi,
                         unsigned long long seed);

/* Prints the summary line and returns the process exit code. */
int test_summary(const char *name);

#endif
