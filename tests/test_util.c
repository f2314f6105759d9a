#include "test_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wsss/config_table.h"
#include "wsss/rng.h"

int g_test_passed, g_test_failed;

static void multi_index(const wsss_tensor *t, int64_t flat, char *buf, size_t n) {
    int64_t idx[WSSS_MAX_DIMS];
    for (int i = t->ndim - 1; i >= 0; i--) {
        idx[i] = flat % t->shape[i];
        flat /= t->shape[i];
    }
    size_t off = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < t->ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, i ? ",%lld" : "%lld", (long long)idx[i]);
    if (off < n) snprintf(buf + off, n - off, ")");
}

double check_close(const char *what, const wsss_tensor *got, const wsss_tensor *want, double atol,
                   double rtol) {
    char s1[64], s2[64];
    if (!wsss_tensor_same_shape(got, want)) {
        g_test_failed++;
        fprintf(stderr, "FAIL %s: shape %s, expected %s\n", what, wsss_shape_str(got, s1, sizeof s1),
                wsss_shape_str(want, s2, sizeof s2));
        return INFINITY;
    }
    int64_t n = wsss_tensor_numel(got), bad = 0;
    double maxerr = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = wsss_tensor_get(got, i), w = wsss_tensor_get(want, i);
        double e = fabs(g - w);
        if (isnan(g) != isnan(w)) e = INFINITY;
        if (e > maxerr) maxerr = e;
        if (!(e <= atol + rtol * fabs(w))) {
            if (bad < 5) {
                char idx[96];
                multi_index(got, i, idx, sizeof idx);
                fprintf(stderr, "  %s differs at %s: got %.9g, expected %.9g (abs err %.3g)\n", what,
                        idx, g, w, e);
            }
            bad++;
        }
    }
    if (bad) {
        g_test_failed++;
        fprintf(stderr, "FAIL %s: %lld of %lld values outside atol %.3g rtol %.3g (max abs err %.3g)\n",
                what, (long long)bad, (long long)n, atol, rtol, maxerr);
    } else {
        g_test_passed++;
    }
    return maxerr;
}

double max_rel_error(const wsss_tensor *got, const wsss_tensor *want) {
    int64_t n = wsss_tensor_numel(want);
    double maxerr = 0, maxw = 0;
    for (int64_t i = 0; i < n; i++) {
        double w = wsss_tensor_get(want, i), g = wsss_tensor_get(got, i);
        if (fabs(g - w) > maxerr) maxerr = fabs(g - w);
        if (fabs(w) > maxw) maxw = fabs(w);
    }
    return maxerr / (maxw > 1e-30 ? maxw : 1e-30);
}

wsss_safetensors *fixture_open(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", WSSS_FIXTURE_DIR, file);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) {
        fprintf(stderr, "FATAL: cannot open fixture: %s\n", wsss_error_msg());
        exit(1);
    }
    return st;
}

wsss_tensor *fixture_take(const wsss_safetensors *st, const char *name) {
    wsss_tensor *t = wsss_st_load(st, name);
    if (!t) {
        fprintf(stderr, "FATAL: fixture %s: %s\n", st->path, wsss_error_msg());
        exit(1);
    }
    return t;
}

wsss_tensor *fixture_load(const char *file, const char *name) {
    wsss_safetensors *st = fixture_open(file);
    wsss_tensor *t = fixture_take(st, name);
    wsss_st_close(st);
    return t;
}

char *split_next(char **s) {
    if (!*s || !**s) return NULL;
    char *start = *s, *sep = strchr(start, ';');
    if (sep) {
        *sep = 0;
        *s = sep + 1;
    } else {
        *s = start + strlen(start);
    }
    return start;
}

wsss_tensor *fixture_take_case(const wsss_safetensors *st, const char *cs, const char *what) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", cs, what);
    return fixture_take(st, name);
}

int fixture_meta_ints(const wsss_safetensors *st, const char *key, int *v, int max) {
    const char *p = wsss_st_meta(st, key);
    int n = 0;
    while (p && *p && n < max) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p) break;
        v[n++] = (int)x;
        p = end;
    }
    return n;
}

int fixture_each_case(const char *file, void (*fn)(const wsss_safetensors *st, const char *cs, void *user),
                      void *user) {
    wsss_safetensors *st = fixture_open(file);
    const char *list = wsss_st_meta(st, "cases");
    char *cases = strdup(list ? list : ""), *rest = cases, *cs;
    int n = 0;
    while ((cs = split_next(&rest)) != NULL) {
        fn(st, cs, user);
        n++;
    }
    free(cases);
    wsss_st_close(st);
    return n;
}

void *test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (n) *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)(len > 0 ? len : 0) + 1);
    size_t r = len > 0 ? fread(b, 1, (size_t)len, f) : 0;
    b[r] = 0;
    fclose(f);
    if (n) *n = r;
    return b;
}

void test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "FATAL: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static char g_tmp_dir[1024]; /* the last test_tmp_dir, removed by a passing test_summary */

const char *test_tmp_dir(const char *test_name) {
    char *path = g_tmp_dir;
    const char *base = getenv("WSSS_TEST_TMP");
    if (!base) base = WSSS_TEST_TMP;
    mkdir(base, 0755);
    snprintf(path, sizeof g_tmp_dir, "%s/%s", base, test_name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not clean %s\n", path);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "FATAL: cannot create %s\n", path);
        exit(1);
    }
    return path;
}

const char *test_path(const char *dir, const char *name) {
    static char p[8][2400];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

wsss_tensor *rand_tensor(wsss_dtype dt, int ndim, const int64_t *shape, double lo, double hi,
                         unsigned long long seed) {
    wsss_tensor *t = wsss_tensor_new(dt, ndim, shape);
    wsss_rng r;
    wsss_rng_seed(&r, seed);
    int64_t n = wsss_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) wsss_tensor_set(t, i, wsss_rng_range(&r, lo, hi));
    return t;
}

double max_abs(const wsss_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(t); i++) {
        double v = fabs(wsss_tensor_get(t, i));
        if (v > m) m = v;
    }
    return m;
}

double check_close_scaled(const char *what, const wsss_tensor *got, const wsss_tensor *want, double rel) {
    double scale = max_abs(want);
    if (scale < 1e-12) scale = 1;
    return check_close(what, got, want, rel * scale, 0) / scale;
}

double check_parity(const char *what, const wsss_tensor *got, const wsss_tensor *want, double rel) {
    CHECK(got != NULL, "%s: gradient missing", what);
    if (!got) return 0;
    double scale = max_abs(want);
    check_close(what, got, want, rel * (scale > 0 ? scale : 1), 0);
    return max_rel_error(got, want);
}

wsss_tensor *grad_leaf(const wsss_tensor *master, wsss_dtype dt, int requires_grad) {
    if (!master) return NULL;
    wsss_tensor *t = wsss_tensor_to_dtype(master, dt);
    t->requires_grad = requires_grad;
    return t;
}

wsss_tensor *take_grad(wsss_tensor *t) {
    if (!t) return NULL;
    wsss_tensor *g = t->grad;
    t->grad = NULL;
    wsss_tensor_free(t);
    return g;
}

double fd_check_sampled(const char *what, double (*loss)(const void *arg), const void *arg, wsss_tensor *t,
                        const wsss_tensor *analytic, int max_checks) {
    const double eps = 1e-6;
    int64_t n = wsss_tensor_numel(t), step = n > max_checks ? n / max_checks : 1;
    double scale = max_abs(analytic), maxerr = 0;
    if (scale < 1e-12) scale = 1;
    int bad = 0;
    for (int64_t i = 0; i < n; i += step) {
        double *v = wsss_f64(t) + i, keep = *v;
        *v = keep + eps;
        double lp = loss(arg);
        *v = keep - eps;
        double lm = loss(arg);
        *v = keep;
        double fd = (lp - lm) / (2 * eps), an = wsss_f64(analytic)[i], e = fabs(fd - an) / scale;
        if (e > maxerr) maxerr = e;
        if (e > 1e-7 && bad++ < 3)
            fprintf(stderr, "  %s[%lld]: analytic %.12g, finite difference %.12g\n", what, (long long)i, an, fd);
    }
    CHECK(bad == 0, "%s: %d finite-difference mismatches (max rel err %.3g)", what, bad, maxerr);
    return maxerr;
}

long test_dead_pid(void) {
    fflush(NULL); /* the child must not flush our buffered output again */
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
        fprintf(stderr, "test_dead_pid: fork failed: %s\n", strerror(errno));
        abort();
    }
    waitpid(pid, NULL, 0);
    return (long)pid;
}

int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_test_passed, g_test_failed);
    if (g_test_failed) return 1;
    /* a passing test leaves nothing behind (WSSS_KEEP_TEST_TMP=1 keeps it), so the suite's disk use
     * stays at what the tests running at once need */
    const char *keep = getenv("WSSS_KEEP_TEST_TMP");
    if (g_tmp_dir[0] && !(keep && strcmp(keep, "1") == 0)) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp_dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", g_tmp_dir);
    }
    return 0;
}

int same_tensor(const wsss_tensor *a, const wsss_tensor *b) {
    return a->dtype == b->dtype && wsss_tensor_same_shape(a, b) && memcmp(a->data, b->data, wsss_tensor_nbytes(a)) == 0;
}

int test_save_params_without(const wsss_params *ps, const char *skip, const char *path) {
    wsss_params partial;
    wsss_params_init(&partial);
    for (int i = 0; i < wsss_params_count(ps); i++) {
        const wsss_param *p = wsss_params_at(ps, i);
        if (strcmp(p->t->name, skip) == 0) continue;
        wsss_tensor *t = p->kind == WSSS_KIND_PARAM
                             ? wsss_params_add_param(&partial, p->t->name, p->t->dtype, p->t->ndim, p->t->shape, 0)
                             : wsss_params_add_buffer(&partial, p->t->name, p->t->dtype, p->t->ndim, p->t->shape);
        wsss_tensor_copy_into(t, p->t);
    }
    int rc = wsss_params_save_safetensors(&partial, path, 1);
    wsss_params_free(&partial);
    return rc;
}

int test_params_equal(const wsss_params *got, const char *strip, const char *skip, const wsss_params *want, int *n) {
    int all = 1;
    const size_t k = strlen(strip);
    *n = 0;
    for (int i = 0; i < wsss_params_count(got); i++) {
        const char *name = wsss_params_at(got, i)->t->name;
        if (strncmp(name, strip, k) != 0 || (skip && strncmp(name + k, skip, strlen(skip)) == 0)) continue;
        const wsss_tensor *src = wsss_params_find(want, name + k);
        all &= src && same_tensor(src, wsss_params_at(got, i)->t);
        ++*n;
    }
    return all;
}

void free_tensors(wsss_tensor *const *ts, size_t n) {
    for (size_t i = 0; i < n; i++) wsss_tensor_free(ts[i]);
}

void check_cfg_json_rules(const struct wsss_cfg_table *table, void *cfg, char *js, void *storage,
                          const char *other_json, const char *mistyped_json, const char *field) {
    char *js2 = wsss_cfg_to_json(table, cfg);
    CHECK(strcmp(js, js2) == 0, "config JSON stable");
    free(js);
    free(js2);
    wsss_cfg_free_storage(storage);
    void *store = NULL;
    CHECK(wsss_cfg_from_json(table, other_json, cfg, &store) == WSSS_ERR, "another stage's config rejected");
    wsss_cfg_free_storage(store);
    store = NULL;
    CHECK(wsss_cfg_from_json(table, mistyped_json, cfg, &store) == WSSS_ERR && strstr(wsss_error_msg(), field),
          "mistyped field named: '%s'", wsss_error_msg());
    wsss_cfg_free_storage(store);
}

double test_bilinear_at(const double *in, int h, int w, int H, int W, int y, int x) {
    double sy = (y + 0.5) * h / H - 0.5, sx = (x + 0.5) * w / W - 0.5;
    if (sy < 0) sy = 0;
    if (sx < 0) sx = 0;
    int y0 = (int)floor(sy), x0 = (int)floor(sx);
    if (y0 > h - 1) y0 = h - 1;
    if (x0 > w - 1) x0 = w - 1;
    const int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    const double ly = sy - y0, lx = sx - x0;
    return (1 - ly) * ((1 - lx) * in[y0 * w + x0] + lx * in[y0 * w + x1]) +
           ly * ((1 - lx) * in[y1 * w + x0] + lx * in[y1 * w + x1]);
}

wsss_tensor *fixture_loadf(const char *file, const char *name_fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, name_fmt);
    vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    return fixture_load(file, name);
}

wsss_ctx *test_ctx_no_grad(void) {
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    return ctx;
}
