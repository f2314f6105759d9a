/* Minimal test harness: CHECK counts failures; tensor comparisons print the first differing
 * values; test_summary prints "N passed, N failed" and returns the exit code. */
#ifndef WSSS_TEST_UTIL_H
#define WSSS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

#include "wsss/autograd.h"
#include "wsss/error.h"
#include "wsss/params.h"
#include "wsss/safetensors.h"
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
/* fixture_load with the tensor's name formatted printf-style ("in_%d", k). */
wsss_tensor *fixture_loadf(const char *file, const char *name_fmt, ...) __attribute__((format(printf, 2, 3)));
/* Open tests/fixtures/<file>; aborts the test with a message if it cannot. */
wsss_safetensors *fixture_open(const char *file);
/* Load `name` from an open fixture file; aborts the test with a message if it cannot. */
wsss_tensor *fixture_take(const wsss_safetensors *st, const char *name);
/* Next item of a ';'-separated list (fixture metadata), cut out in place; NULL after the last. */
char *split_next(char **s);
/* "<cs>.<what>" of an open fixture (fixture_take). */
wsss_tensor *fixture_take_case(const wsss_safetensors *st, const char *cs, const char *what);
/* The space-separated integers of metadata entry key into v (at most max); returns how many (0 if
 * the entry is missing). */
int fixture_meta_ints(const wsss_safetensors *st, const char *key, int *v, int max);
/* Open tests/fixtures/<file>, call fn(st, case, user) for each name of its metadata "cases" list,
 * close it; returns the number of cases. */
int fixture_each_case(const char *file, void (*fn)(const wsss_safetensors *st, const char *cs, void *user),
                      void *user);

/* The whole file, NUL-terminated (its size without the NUL in *n if n); NULL (and *n = 0) if it
 * cannot be read. Free with free(). */
void *test_read_file(const char *path, size_t *n);
/* Write n bytes to path; aborts the test if it cannot. */
void test_write_file(const char *path, const void *data, size_t n);
/* Path helpers: a fresh per-test temp directory under the build tree. */
const char *test_tmp_dir(const char *test_name);
/* "dir/name" in one of 8 static buffers used in turn (valid until 8 more calls). */
const char *test_path(const char *dir, const char *name);

/* The pid of a process that has exited and been reaped (a child forked for the purpose): what a
 * killed writer leaves in its temporary names. */
long test_dead_pid(void);

/* A fresh context that records no graph (inference, or values-only checks). */
wsss_ctx *test_ctx_no_grad(void);
/* Random tensor (persistent) with values in [lo, hi), from a seeded generator. */
wsss_tensor *rand_tensor(wsss_dtype dt, int ndim, const int64_t *shape, double lo, double hi,
                         unsigned long long seed);

/* Op-test helpers. max|t| over all elements. */
double max_abs(const wsss_tensor *t);
/* check_close with atol = rel * max|want| (1 if want is ~0); returns max|got-want| / that scale. */
double check_close_scaled(const char *what, const wsss_tensor *got, const wsss_tensor *want, double rel);
/* Parity with a PyTorch fixture: CHECKs that got exists, then check_close with atol = rel * max|want|
 * (rel if want is all zero); returns max_rel_error(got, want), 0 if got is missing. */
double check_parity(const char *what, const wsss_tensor *got, const wsss_tensor *want, double rel);
/* Persistent copy of master in dtype dt with requires_grad set; NULL for NULL. */
wsss_tensor *grad_leaf(const wsss_tensor *master, wsss_dtype dt, int requires_grad);
/* Frees the leaf t and returns its gradient (NULL if t is NULL or got none). */
wsss_tensor *take_grad(wsss_tensor *t);
/* Central differences (eps 1e-6) of loss(arg) w.r.t. up to max_checks elements of the F64 tensor t
 * (spread over it), against the analytic gradient: each |fd - analytic| / max|analytic| must stay
 * under 1e-7 (the first 3 misses are printed); one CHECK. Returns the max of that error. */
double fd_check_sampled(const char *what, double (*loss)(const void *arg), const void *arg, wsss_tensor *t,
                        const wsss_tensor *analytic, int max_checks);

/* wsss_tensor_free on each of the n tensors (NULL entries are fine); FREE_TENSORS(a, b, ...) lists them. */
void free_tensors(wsss_tensor *const *ts, size_t n);
#define FREE_TENSORS(...) \
    free_tensors((wsss_tensor *[]){__VA_ARGS__}, sizeof((wsss_tensor *[]){__VA_ARGS__}) / sizeof(wsss_tensor *))
/* F.interpolate(bilinear, align_corners=False) by the textbook formula: the value at (y, x) of an
 * H x W output from the h x w plane in. */
double test_bilinear_at(const double *in, int h, int w, int H, int W, int y, int x);
/* Same dtype, shape and bytes. */
int same_tensor(const wsss_tensor *a, const wsss_tensor *b);
/* Save a copy of the registry without the tensor named skip (a file missing one tensor); WSSS_OK. */
int test_save_params_without(const wsss_params *ps, const char *skip, const char *path);
/* Whether every tensor of got named strip + K (K not starting with skip; skip may be NULL) equals
 * want's tensor K; *n receives how many were compared. */
int test_params_equal(const wsss_params *got, const char *strip, const char *skip, const wsss_params *want, int *n);

/* The rest of a stage config's JSON round trip once js (the config's text) was read into cfg with
 * strings in storage: CHECKs that cfg's text equals js, that table refuses another stage's config
 * (other_json) and a config with a mistyped field (mistyped_json) naming field; frees js and
 * storage. cfg is scratch for the refused reads. */
struct wsss_cfg_table;
void check_cfg_json_rules(const struct wsss_cfg_table *table, void *cfg, char *js, void *storage,
                          const char *other_json, const char *mistyped_json, const char *field);

/* Prints the summary line and returns the process exit code. */
int test_summary(const char *name);

#endif
