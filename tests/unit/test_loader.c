/* Loader: epoch coverage and batch contents, resume from a saved position (identical batches,
 * any worker count), pair-mode partners share a class with the sampling rule of mcis.md §5,
 * worker count bounded by the cores, bad files (error naming the file / deterministic skip). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"
#include "voc_fixture.h"
#include "wsss/loader.h"
#include "wsss/runtime.h"

#define N_SAMPLES 23
#define IMG_W 40
#define IMG_H 30
#define NCLS 5 /* background + 4 */

/* A loader of ds with options o (a failure is a failed check; NULL then). */
static wsss_loader *new_loader(const wsss_dataset *ds, const wsss_loader_opts *o) {
    wsss_loader *l = NULL;
    CHECK(wsss_loader_new(ds, o, &l) == WSSS_OK, "%s", wsss_error_msg());
    return l;
}

static char g_root[1024];

/* Foreground classes of sample i (1 or 2 of 1..4), drawn as horizontal bands. */
static int sample_classes(int i, int *cls) {
    cls[0] = 1 + i % 4;
    if (i % 3 == 0) {
        cls[1] = 1 + (i / 4 + 1 + i % 4) % 4;
        if (cls[1] == cls[0]) cls[1] = 1 + cls[0] % 4;
        return 2;
    }
    return 1;
}

static void pixel_of(int i, int x, int y, uint8_t *p) {
    p[0] = (uint8_t)(i * 10 + 3);
    p[1] = (uint8_t)(x * 6);
    p[2] = (uint8_t)(y * 8);
}

/* Lossless PNG images so batch contents can be checked exactly. */
static void build_dataset(const char *root) {
    char p[1400];
    vf_root(root);
    char list[4096] = "", labels[4096] = "";
    for (int i = 0; i < N_SAMPLES; i++) {
        wsss_image im, m;
        wsss_image_alloc(&im, IMG_W, IMG_H, 3);
        wsss_image_alloc(&m, IMG_W, IMG_H, 1);
        int cls[2], k = sample_classes(i, cls);
        for (int y = 0; y < IMG_H; y++)
            for (int x = 0; x < IMG_W; x++) {
                pixel_of(i, x, y, im.data + (y * IMG_W + x) * 3);
                int band = y * 3 / IMG_H; /* 0: background, 1: class 0, 2: class k-1 (or 255 edge) */
                m.data[y * IMG_W + x] = band == 0 ? 0 : (uint8_t)cls[band == 1 ? 0 : k - 1];
            }
        m.data[0] = 255;
        snprintf(p, sizeof p, "%s/JPEGImages/s_%03d.png", root, i);
        CHECK(wsss_image_write_png(p, &im) == WSSS_OK, "%s", wsss_error_msg());
        snprintf(p, sizeof p, "%s/SegmentationClass/s_%03d.png", root, i);
        CHECK(wsss_image_write_mask_png(p, &m) == WSSS_OK, "%s", wsss_error_msg());
        wsss_image_free(&im);
        wsss_image_free(&m);
        snprintf(list + strlen(list), sizeof list - strlen(list), "s_%03d\n", i);
    }
    (void)labels;
    snprintf(p, sizeof p, "%s/ImageSets/Segmentation/train.txt", root);
    vf_write(p, list);
    snprintf(p, sizeof p, "%s/classes.txt", root);
    vf_write(p, "background\nA\nB\nC\nD\n");
}

static wsss_dataset *open_ds(const char *root) {
    wsss_dataset_opts o;
    wsss_dataset_opts_default(&o);
    wsss_dataset *ds = NULL;
    if (wsss_dataset_open(root, &o, &ds) != WSSS_OK) {
        fprintf(stderr, "FATAL: %s\n", wsss_error_msg());
        exit(1);
    }
    return ds;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const uint8_t *b = data;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* Digest of one row (sample) of a batch: image, mask, labels, id. */
static uint64_t row_digest(const wsss_batch *b, int64_t k, int second) {
    const wsss_tensor *im = second ? b->images2 : b->images, *m = second ? b->masks2 : b->masks,
                      *lab = second ? b->labels2 : b->labels;
    size_t isz = (size_t)(im->shape[1] * im->shape[2] * im->shape[3]) * sizeof(float);
    uint64_t h = fnv(0xcbf29ce484222325ULL, (const char *)im->data + k * isz, isz);
    if (m) {
        size_t msz = (size_t)(m->shape[1] * m->shape[2]) * wsss_dtype_size(m->dtype);
        h = fnv(h, (const char *)m->data + k * msz, msz);
    }
    if (lab) h = fnv(h, wsss_f32(lab) + k * lab->shape[1], (size_t)lab->shape[1] * sizeof(float));
    const char *id = second ? b->ids2[k] : b->ids[k];
    return fnv(h, id, strlen(id));
}

static uint64_t batch_digest(const wsss_batch *b) {
    uint64_t h = fnv(0xcbf29ce484222325ULL, &b->n, sizeof b->n);
    h = fnv(h, &b->epoch, sizeof b->epoch);
    h = fnv(h, &b->index, sizeof b->index);
    for (int64_t k = 0; k < b->n; k++) {
        uint64_t r = row_digest(b, k, 0);
        h = fnv(h, &r, sizeof r);
        if (b->images2) {
            r = row_digest(b, k, 1);
            h = fnv(h, &r, sizeof r);
        }
    }
    return h;
}

static void test_epochs_and_contents(wsss_dataset *ds) {
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    o.batch_size = 5;
    o.seed = 42;
    wsss_loader *l = new_loader(ds, &o);
    CHECK(wsss_loader_batches_per_epoch(l) == 5, "batches per epoch %lld", (long long)wsss_loader_batches_per_epoch(l));
    int64_t order[N_SAMPLES], prev_first[N_SAMPLES] = {0};
    int content_bad = 0, same_order = 0;
    for (int e = 0; e < 3; e++) {
        int seen[N_SAMPLES] = {0};
        wsss_loader_epoch_order(l, e, order);
        if (e > 0) same_order += memcmp(order, prev_first, sizeof order) == 0;
        memcpy(prev_first, order, sizeof order);
        for (int bi = 0; bi < 5; bi++) {
            const wsss_batch *b;
            if (wsss_loader_next(l, &b) != WSSS_OK) {
                CHECK(0, "%s", wsss_error_msg());
                return;
            }
            CHECK(b->epoch == e && b->index == bi && b->n == (bi < 4 ? 5 : 3) && b->last_in_epoch == (bi == 4),
                  "batch e%lld i%lld n%lld last%d", (long long)b->epoch, (long long)b->index, (long long)b->n,
                  b->last_in_epoch);
            CHECK(b->images->shape[0] == b->n && b->masks->shape[0] == b->n && b->labels->shape[1] == NCLS - 1,
                  "tensor shapes");
            CHECK(b->masks->dtype == WSSS_I64, "default mask dtype i64");
            for (int64_t k = 0; k < b->n; k++) {
                int64_t s = b->samples[k];
                CHECK(s == order[b->first + k], "epoch order");
                seen[s]++;
                /* exact contents: (x / 255 - mean) / std in float32, mask, labels */
                static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
                for (int y = 0; y < IMG_H; y++)
                    for (int x = 0; x < IMG_W; x++) {
                        uint8_t px[3];
                        pixel_of((int)s, x, y, px);
                        for (int c = 0; c < 3; c++) {
                            float want = ((float)px[c] / 255.0f - mean[c]) / sd[c];
                            float got = wsss_f32(b->images)[((k * 3 + c) * IMG_H + y) * IMG_W + x];
                            content_bad += got != want;
                        }
                        int cls[2], nc = sample_classes((int)s, cls), band = y * 3 / IMG_H;
                        int64_t wm = (x == 0 && y == 0) ? 255 : band == 0 ? 0 : cls[band == 1 ? 0 : nc - 1];
                        content_bad += ((int64_t *)b->masks->data)[(k * IMG_H + y) * IMG_W + x] != wm;
                    }
                int cls[2], nc = sample_classes((int)s, cls);
                for (int c = 1; c < NCLS; c++) {
                    int want = c == cls[0] || (nc == 2 && c == cls[1]);
                    content_bad += wsss_f32(b->labels)[k * (NCLS - 1) + c - 1] != (float)want;
                }
                char id[16];
                snprintf(id, sizeof id, "s_%03d", (int)s);
                content_bad += strcmp(b->ids[k], id) != 0;
            }
        }
        int once = 1;
        for (int i = 0; i < N_SAMPLES; i++) once &= seen[i] == 1;
        CHECK(once, "epoch %d does not visit every sample once", e);
    }
    CHECK(content_bad == 0, "%d wrong values in batch contents", content_bad);
    CHECK(same_order == 0, "epochs should be shuffled differently");
    double w = wsss_loader_wait_seconds(l);
    CHECK(w >= 0 && w < 60, "wait seconds %g", w);
    wsss_loader_free(l);

    /* drop_last, U8 masks, no shuffle */
    o.drop_last = 1;
    o.shuffle = 0;
    o.mask_dtype = WSSS_U8;
    CHECK(wsss_loader_new(ds, &o, &l) == WSSS_OK, "%s", wsss_error_msg());
    CHECK(wsss_loader_batches_per_epoch(l) == 4, "drop_last batches");
    for (int bi = 0; bi < 9; bi++) {
        const wsss_batch *b;
        CHECK(wsss_loader_next(l, &b) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(b->n == 5 && b->epoch == bi / 4 && b->samples[0] == (bi % 4) * 5, "drop_last batch %d", bi);
        CHECK(b->masks->dtype == WSSS_U8 && ((uint8_t *)b->masks->data)[0] == 255, "u8 masks");
    }
    wsss_loader_free(l);
}

/* Positions saved mid-epoch restore identical batches, with any number of workers. */
static void test_resume(wsss_dataset *ds) {
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    o.batch_size = 4;
    o.seed = 7;
    wsss_aug_config_eader(&o.aug, 24);
    o.aug.jitter.brightness = o.aug.jitter.hue = 0.2;
    o.pair_mode = 1;
    enum { NB = 20 };
    uint64_t ref[NB];
    int64_t pos_e[NB], pos_i[NB];
    wsss_loader *a;
    o.workers = 1;
    o.prefetch = 3;
    CHECK(wsss_loader_new(ds, &o, &a) == WSSS_OK, "%s", wsss_error_msg());
    for (int i = 0; i < NB; i++) {
        const wsss_batch *b;
        CHECK(wsss_loader_next(a, &b) == WSSS_OK, "%s", wsss_error_msg());
        ref[i] = batch_digest(b);
        wsss_loader_position(a, &pos_e[i], &pos_i[i]);
    }
    /* a fresh loader per saved position (mid-epoch and at epoch ends), different worker settings */
    int mismatches = 0, checked = 0;
    const int saves[4] = {2, 5, 8, 13};
    for (int t = 0; t < 4; t++) {
        /* 1 worker, the machine's cap, and 3 workers (cap raised for the test) completing out of order */
        o.workers = t == 1 ? 64 : t == 3 ? 3 : 1;
        o.prefetch = t % 2 ? 0 : 5;
        wsss_loader_test_override_max_workers(t == 3 ? 3 : 0);
        wsss_loader *b2;
        CHECK(wsss_loader_new(ds, &o, &b2) == WSSS_OK, "%s", wsss_error_msg());
        CHECK(wsss_loader_seek(b2, pos_e[saves[t]], pos_i[saves[t]]) == WSSS_OK, "%s", wsss_error_msg());
        for (int i = saves[t] + 1; i < NB; i++) {
            const wsss_batch *b;
            CHECK(wsss_loader_next(b2, &b) == WSSS_OK, "%s", wsss_error_msg());
            mismatches += batch_digest(b) != ref[i];
            checked++;
        }
        if (t == 3) CHECK(wsss_loader_workers(b2) == 3, "test override: %d workers", wsss_loader_workers(b2));
        wsss_loader_free(b2);
    }
    wsss_loader_test_override_max_workers(0);
    CHECK(mismatches == 0, "%d of %d resumed batches differ", mismatches, checked);
    /* seeking the same loader back reproduces too */
    CHECK(wsss_loader_seek(a, pos_e[3], pos_i[3]) == WSSS_OK, "seek");
    for (int i = 4; i < 9; i++) {
        const wsss_batch *b;
        CHECK(wsss_loader_next(a, &b) == WSSS_OK && batch_digest(b) == ref[i], "re-seek batch %d", i);
    }
    /* an unaligned position: each row equals the row of the same position in the original run */
    CHECK(wsss_loader_seek(a, 1, 3) == WSSS_OK, "seek");
    const wsss_batch *b;
    CHECK(wsss_loader_next(a, &b) == WSSS_OK && b->epoch == 1 && b->first == 3 && b->n == 4, "unaligned seek");
    uint64_t rows[4];
    for (int k = 0; k < 4; k++) rows[k] = row_digest(b, k, 0) ^ row_digest(b, k, 1);
    wsss_loader *c;
    o.workers = 1;
    wsss_loader_new(ds, &o, &c);
    wsss_loader_seek(c, 1, 0);
    int row_ok = 1;
    for (int i = 0; i < 2; i++) { /* positions 0..7 of epoch 1 */
        const wsss_batch *bb;
        wsss_loader_next(c, &bb);
        for (int k = 0; k < 4; k++) {
            int64_t pos = bb->first + k;
            if (pos >= 3 && pos < 7) row_ok &= (row_digest(bb, k, 0) ^ row_digest(bb, k, 1)) == rows[pos - 3];
        }
    }
    CHECK(row_ok, "rows at the same (epoch, position) differ after an unaligned seek");
    wsss_loader_free(c);
    wsss_loader_free(a);
    printf("  resume: %d batches after 4 saved positions identical; unaligned seek rows identical\n", checked);
}

static void test_pairs(wsss_dataset *ds) {
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    o.batch_size = 6;
    o.pair_mode = 1;
    o.seed = 3;
    wsss_loader *l = new_loader(ds, &o);
    int bad = 0, pairs = 0, self = 0;
    for (int i = 0; i < 40; i++) {
        const wsss_batch *b;
        CHECK(wsss_loader_next(l, &b) == WSSS_OK, "%s", wsss_error_msg());
        for (int64_t k = 0; k < b->n; k++) {
            int c = b->pair_class[k];
            const uint8_t *l1 = wsss_dataset_labels(ds, b->samples[k]), *l2 = wsss_dataset_labels(ds, b->samples2[k]);
            bad += !(c >= 1 && c < NCLS && l1[c] && l2[c]);
            bad += wsss_f32(b->labels2)[k * (NCLS - 1) + c - 1] != 1.0f;
            int cls1[2];
            int p = (int)b->samples2[k];
            /* the partner's image really is that sample: its red channel encodes the index */
            float want = ((float)(p * 10 + 3) / 255.0f - 0.485f) / 0.229f;
            bad += wsss_f32(b->images2)[k * 3 * IMG_H * IMG_W] != want;
            (void)cls1;
            self += b->samples2[k] == b->samples[k];
            pairs++;
        }
    }
    CHECK(bad == 0, "%d pairs do not share the chosen class", bad);
    /* the sampling rule: class uniform among the image's classes, then partner uniform in that
     * class's list. Sample 0 has two classes; count (class, partner) over many positions. */
    int cls[2], nc = sample_classes(0, cls);
    CHECK(nc == 2, "sample 0 has two classes");
    double chi2 = 0;
    int cells = 0, draws = 20000, cnt_cls[NCLS] = {0};
    static int cnt[NCLS][N_SAMPLES];
    memset(cnt, 0, sizeof cnt);
    for (int t = 0; t < draws; t++) {
        int c;
        int64_t p = wsss_loader_partner(l, t / 100, t % 100, 0, &c);
        cnt[c][p]++;
        cnt_cls[c]++;
    }
    for (int k = 0; k < 2; k++) {
        int64_t count;
        const int64_t *list = wsss_dataset_class_samples(ds, cls[k], &count);
        for (int64_t j = 0; j < count; j++) {
            double e = draws / 2.0 / count;
            chi2 += (cnt[cls[k]][list[j]] - e) * (cnt[cls[k]][list[j]] - e) / e;
            cells++;
        }
    }
    CHECK(cnt_cls[cls[0]] + cnt_cls[cls[1]] == draws, "partners only through the image's classes");
    /* chi-square with cells-1 degrees of freedom: mean cells-1, sd sqrt(2(cells-1)); allow 5 sd */
    CHECK(chi2 < (cells - 1) + 5 * sqrt(2.0 * (cells - 1)), "partner distribution chi2 %.1f over %d cells", chi2,
          cells);
    printf("  pairs: %d checked (%d self-pairs); partner chi2 %.1f over %d cells\n", pairs, self, chi2, cells);
    wsss_loader_free(l);
}

static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static void test_workers(wsss_dataset *ds) {
    int cores = wsss_physical_cores(), maxw = wsss_loader_max_workers();
    CHECK(maxw == (cores > 1 ? cores - 1 : 1), "max workers %d for %d cores", maxw, cores);
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    o.workers = 64;
    int before = count_threads();
    wsss_loader *l = new_loader(ds, &o);
    int during = count_threads();
    CHECK(wsss_loader_workers(l) == maxw, "workers %d, expected %d", wsss_loader_workers(l), maxw);
    CHECK(during - before == maxw, "loader started %d threads, expected %d", during - before, maxw);
    CHECK(wsss_loader_workers(l) + 1 <= (cores > 1 ? cores : 2), "workers + trainer exceed the cores");
    wsss_loader_free(l);
    CHECK(count_threads() == before, "threads left after free");
    printf("  workers: %d cores -> %d worker threads (requested 64)\n", cores, maxw);
}

static void test_bad_files(void) {
    char root[1200], p[1400];
    snprintf(root, sizeof root, "%s/bad", g_root);
    mkdir(root, 0755);
    build_dataset(root);
    snprintf(p, sizeof p, "%s/JPEGImages/s_007.png", root);
    vf_write(p, "\x89PNG\r\n\x1a\n this is not a real png");
    wsss_dataset *ds = open_ds(root);
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    o.batch_size = 4;
    o.shuffle = 0;
    wsss_loader *l = new_loader(ds, &o);
    const wsss_batch *b;
    int ok = 0, failed = 0;
    for (int i = 0; i < 6 && !failed; i++) {
        if (wsss_loader_next(l, &b) == WSSS_OK) ok++;
        else failed = 1;
    }
    CHECK(failed && ok == 1 && strstr(wsss_error_msg(), "s_007.png"), "bad file error after %d batches: '%s'", ok,
          wsss_error_msg());
    wsss_loader_free(l);

    o.skip_bad = 1;
    o.shuffle = 1;
    uint64_t dig[2][12];
    for (int run = 0; run < 2; run++) {
        CHECK(wsss_loader_new(ds, &o, &l) == WSSS_OK, "%s", wsss_error_msg());
        int64_t order[N_SAMPLES];
        for (int i = 0; i < 12; i++) {
            CHECK(wsss_loader_next(l, &b) == WSSS_OK, "skip_bad: %s", wsss_error_msg());
            if (!b) break;
            dig[run][i] = batch_digest(b);
            wsss_loader_epoch_order(l, b->epoch, order);
            for (int64_t k = 0; k < b->n; k++) {
                int64_t pos = b->first + k;
                CHECK(b->samples[k] != 7, "the bad sample was returned");
                /* the replacement is the next sample in the epoch order */
                if (order[pos] == 7) CHECK(b->samples[k] == order[(pos + 1) % N_SAMPLES], "replacement rule");
                else CHECK(b->samples[k] == order[pos], "other samples unchanged");
            }
            CHECK(b->n == (b->last_in_epoch ? 3 : 4), "batch size kept with skip_bad");
        }
        wsss_loader_free(l);
    }
    CHECK(memcmp(dig[0], dig[1], sizeof dig[0]) == 0, "skip_bad is not deterministic");
    wsss_dataset_free(ds);
}

static void test_options(wsss_dataset *ds) {
    wsss_loader_opts o;
    wsss_loader_opts_default(&o);
    wsss_loader *l;
    o.batch_size = 0;
    CHECK(wsss_loader_new(ds, &o, &l) == WSSS_ERR && l == NULL, "batch size 0 rejected");
    o.batch_size = 100;
    o.drop_last = 1;
    CHECK(wsss_loader_new(ds, &o, &l) == WSSS_ERR && strstr(wsss_error_msg(), "fewer than one batch"),
          "drop_last with too few samples: '%s'", wsss_error_msg());
    wsss_loader_opts_default(&o);
    o.load_masks = 0;
    CHECK(wsss_loader_new(ds, &o, &l) == WSSS_OK, "%s", wsss_error_msg());
    const wsss_batch *b;
    CHECK(wsss_loader_next(l, &b) == WSSS_OK && b->masks == NULL && b->images2 == NULL, "no masks, no pairs");
    CHECK(wsss_loader_seek(l, 0, N_SAMPLES + 1) == WSSS_ERR, "seek out of range");
    wsss_loader_free(l);
}

int main(void) {
    snprintf(g_root, sizeof g_root, "%s", test_tmp_dir("loader"));
    char root[1200];
    snprintf(root, sizeof root, "%s/good", g_root);
    mkdir(root, 0755);
    build_dataset(root);
    wsss_dataset *ds = open_ds(root);
    CHECK(ds->n == N_SAMPLES && ds->num_classes == NCLS && ds->has_labels, "dataset opened");
    test_epochs_and_contents(ds);
    test_resume(ds);
    test_pairs(ds);
    test_workers(ds);
    test_options(ds);
    test_bad_files();
    wsss_dataset_free(ds);
    return test_summary("test_loader");
}
