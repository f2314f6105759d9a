/* Trainer loop (trainer.h): a run interrupted mid-epoch (stop_after, or a real SIGINT raised inside
 * a step) saves a checkpoint, and resuming into fresh objects finishes bit-for-bit where an
 * uninterrupted run ends (parameters, BN statistics, optimizer state, trainer RNG); per-epoch
 * checkpoints; the epoch-end hook (once per epoch, its scalars in the JSONL epoch records); errors
 * for a bad resume directory, a non-finite loss and a failing hook. One thread, tiny CNN on a
 * tiny VOC folder with random flips, so data order, augmentation and dropout all matter. */
#include <signal.h>
#include <string.h>

#include "test_util.h"
#include "tiny_model.h"
#include "voc_fixture.h"
#include "wsss/checkpoint.h"
#include "wsss/ops.h"
#include "wsss/runlog.h"
#include "wsss/runtime.h"
#include "wsss/trainer.h"

#define NIMG 10
#define BATCH 3 /* 4 batches per epoch, the last one of size 1 */
#define EPOCHS 3
#define K 3     /* foreground classes */
#define CH 6

typedef tiny_model model;

static void model_init(model *m, uint64_t seed) { tiny_model_init(m, CH, K, seed); }

static wsss_optim *make_optim(model *m) { return tiny_model_optim(m, 0); }

typedef struct step_ctx {
    model *m;
    int64_t raise_at; /* raise SIGINT inside this step (-1: never) */
    int nan_at;       /* return a NaN loss at this step (-1: never) */
} step_ctx;

static int step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    step_ctx *sc = user;
    model *m = sc->m;
    (void)lr;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *logits = tiny_model_forward(ctx, m, b->images, &t->rng);
    wsss_tensor *loss = wsss_multilabel_soft_margin(ctx, logits, b->labels);
    int rc = wsss_backward(ctx, loss);
    stats->loss = wsss_tensor_get(loss, 0);
    stats->n_aux = 1;
    stats->aux_name[0] = "batch";
    stats->aux[0] = (double)b->index;
    if (t->step == sc->nan_at) stats->loss = NAN;
    if (t->step == sc->raise_at) raise(SIGINT);
    wsss_ctx_free(ctx);
    return rc;
}

static int same_bits(const wsss_tensor *a, const wsss_tensor *b) {
    if (!a || !b) return a == b;
    return a->dtype == b->dtype && wsss_tensor_same_shape(a, b) && memcmp(a->data, b->data, wsss_tensor_nbytes(a)) == 0;
}

static wsss_dataset *g_ds;

static wsss_loader *make_loader(void) {
    wsss_loader_opts lo;
    wsss_loader_opts_default(&lo);
    lo.batch_size = BATCH;
    lo.seed = 11;
    lo.load_masks = 0;
    lo.aug.hflip_p = 0.5;
    wsss_loader *l = NULL;
    WSSS_ASSERT(wsss_loader_new(g_ds, &lo, &l) == WSSS_OK, wsss_error_msg());
    return l;
}

typedef struct run {
    model m;
    wsss_optim *o;
    wsss_loader *l;
    wsss_trainer t;
} run;

static const wsss_lr_schedule k_sched_dummy;

/* Set up a run (fresh or resumed) and train; returns run's rc. */
static const char *g_log_path;

/* The epoch-end hook of run A: records when it ran and reports one scalar for the JSONL. */
typedef struct epoch_hook {
    int calls;
    int64_t epoch_seen[8], step_seen[8];
    int fail_at; /* calls + 1 at which it fails (0 = never) */
} epoch_hook;
static epoch_hook *g_hook;

static int hook_fn(void *user, wsss_trainer *t, wsss_trainer_stats *stats) {
    epoch_hook *h = user;
    if (h->calls < 8) {
        h->epoch_seen[h->calls] = t->epoch;
        h->step_seen[h->calls] = t->step;
    }
    h->calls++;
    if (h->calls == h->fail_at) return wsss_error_set("hook failed at call %d", h->calls);
    stats->n_aux = 1;
    stats->aux_name[0] = "hook_metric";
    stats->aux[0] = 10.0 * (double)(t->epoch + 1);
    return WSSS_OK;
}

static int do_run(run *r, uint64_t init_seed, const char *ckpt, const char *resume, int64_t stop_after,
                  int64_t raise_at, int nan_at) {
    model_init(&r->m, init_seed);
    r->o = make_optim(&r->m);
    r->l = make_loader();
    wsss_lr_schedule sched = wsss_lr_poly(0.05, 0.9, EPOCHS * 4);
    wsss_trainer_opts to;
    wsss_trainer_opts_default(&to);
    to.stage = "test";
    to.epochs = EPOCHS;
    to.ckpt_dir = ckpt;
    to.resume_dir = resume;
    to.progress = 0;
    to.config = "{\"test\": 1}";
    to.stop_after = stop_after;
    to.log_path = g_log_path;
    if (g_hook) {
        to.epoch_end = hook_fn;
        to.epoch_user = g_hook;
    }
    if (wsss_trainer_init(&r->t, &to, &r->m.ps, r->o, &sched, r->l, 77) != WSSS_OK) return WSSS_ERR;
    step_ctx sc = {&r->m, raise_at, nan_at};
    return wsss_trainer_run(&r->t, step_fn, &sc);
}

static void run_free(run *r) {
    wsss_trainer_free(&r->t);
    wsss_loader_free(r->l);
    wsss_optim_free(r->o);
    wsss_params_free(&r->m.ps);
}

static void compare(const char *what, run *a, run *c) {
    int all = 1;
    for (int i = 0; i < wsss_params_count(&a->m.ps); i++) {
        const wsss_param *pa = wsss_params_at(&a->m.ps, i), *pc = wsss_params_at(&c->m.ps, i);
        int same = same_bits(pa->t, pc->t);
        CHECK(same, "%s: %s differs from the uninterrupted run", what, pa->t->name);
        all &= same;
    }
    for (int i = 0; i < a->o->n_slots; i++) {
        CHECK(a->o->slots[i].step == c->o->slots[i].step, "%s: optimizer step count of slot %d", what, i);
        for (int k = 0; k < 3; k++)
            CHECK(same_bits(a->o->slots[i].buf[k], c->o->slots[i].buf[k]), "%s: optimizer buffer %d of %s", what, k,
                  a->o->slots[i].param->name);
    }
    CHECK(memcmp(a->t.rng.s, c->t.rng.s, sizeof a->t.rng.s) == 0, "%s: trainer RNG differs", what);
    CHECK(a->t.step == c->t.step && a->t.epoch == c->t.epoch, "%s: step %lld/%lld epoch %lld/%lld", what,
          (long long)a->t.step, (long long)c->t.step, (long long)a->t.epoch, (long long)c->t.epoch);
    printf("%s: %s\n", what, all ? "bit-identical to the uninterrupted run" : "DIFFERS");
}

int main(void) {
    wsss_runtime_init();
    wsss_set_threads(1);
    const char *tmp = test_tmp_dir("test_trainer");
    char root[1100], ck_a[1100], ck_b[1100], ck_c[1100], ck_d[1100];
    snprintf(root, sizeof root, "%s/voc", tmp);
    snprintf(ck_a, sizeof ck_a, "%s/a/ckpt", tmp);
    snprintf(ck_b, sizeof ck_b, "%s/b/ckpt", tmp);
    snprintf(ck_c, sizeof ck_c, "%s/c/ckpt", tmp);
    snprintf(ck_d, sizeof ck_d, "%s/d/ckpt", tmp);
    vf_root(root);
    char list[4096] = "";
    for (int i = 0; i < NIMG; i++) {
        char id[32];
        snprintf(id, sizeof id, "img%02d", i);
        vf_image(root, id, 12, 10); /* no resizing augmentation here: a batch needs one size */
        int vals[3] = {0, 1 + i % K, 1 + (i / K) % K};
        vf_mask(root, "SegmentationClass", id, 12, 10, 3, vals);
        strcat(list, id);
        strcat(list, "\n");
    }
    char lp[1200];
    snprintf(lp, sizeof lp, "%s/ImageSets/Segmentation/train.txt", root);
    vf_write(lp, list);
    snprintf(lp, sizeof lp, "%s/classes.txt", root);
    vf_write(lp, "background\na\nb\nc\n");
    (void)k_sched_dummy;
    CHECK(wsss_dataset_open(root, NULL, &g_ds) == WSSS_OK, "open: %s", wsss_error_msg());
    if (!g_ds) return test_summary("test_trainer");

    /* A: uninterrupted, 3 epochs of 4 steps; a checkpoint after every epoch. */
    run a;
    char logp[1200];
    snprintf(logp, sizeof logp, "%s/a/logs/test.jsonl", tmp);
    remove(logp);
    g_log_path = logp;
    epoch_hook hook = {0};
    g_hook = &hook;
    CHECK(do_run(&a, 1, ck_a, NULL, 0, -1, -1) == WSSS_OK, "run A: %s", wsss_error_msg());
    g_hook = NULL;
    g_log_path = NULL;
    /* the epoch-end hook ran once per epoch, after the epoch's last step, before the epoch counter moved */
    CHECK(hook.calls == EPOCHS, "epoch hook calls %d, expected %d", hook.calls, EPOCHS);
    for (int e = 0; e < EPOCHS && e < hook.calls; e++)
        CHECK(hook.epoch_seen[e] == e && hook.step_seen[e] == 4 * (e + 1), "hook call %d saw epoch %lld step %lld", e,
              (long long)hook.epoch_seen[e], (long long)hook.step_seen[e]);
    /* JSONL: start, 12 steps, 3 epoch records, end */
    wsss_runlog_data ld;
    CHECK(wsss_runlog_read(logp, &ld) == WSSS_OK, "log: %s", wsss_error_msg());
    CHECK(ld.n_records == 1 + EPOCHS * 4 + EPOCHS + 1 && ld.n_bad_lines == 0, "log records %lld",
          (long long)ld.n_records);
    int f_loss = wsss_runlog_field(&ld, "loss"), f_lr = wsss_runlog_field(&ld, "lr"),
        f_ips = wsss_runlog_field(&ld, "images_per_s"), f_batch = wsss_runlog_field(&ld, "batch");
    CHECK(f_loss >= 0 && f_lr >= 0 && f_ips >= 0 && f_batch >= 0, "log fields loss/lr/images_per_s/batch");
    /* the hook's scalar is in each "epoch" record (and only there) */
    int f_hook = wsss_runlog_field(&ld, "hook_metric"), f_eloss = wsss_runlog_field(&ld, "epoch_loss");
    CHECK(f_hook >= 0 && f_eloss >= 0, "log fields hook_metric/epoch_loss");
    if (f_hook >= 0 && f_eloss >= 0) {
        int n_hook = 0;
        for (int64_t r = 0; r < ld.n_records; r++) {
            double v = wsss_runlog_value(&ld, r, f_hook);
            if (isnan(v)) continue;
            n_hook++;
            CHECK(!isnan(wsss_runlog_value(&ld, r, f_eloss)) && v == 10.0 * n_hook, "record %lld: hook_metric %g",
                  (long long)r, v);
        }
        CHECK(n_hook == EPOCHS, "%d records with hook_metric, expected %d", n_hook, EPOCHS);
    }
    if (f_loss >= 0 && f_lr >= 0 && ld.n_records > 2) {
        CHECK(isfinite(wsss_runlog_value(&ld, 1, f_loss)) && fabs(wsss_runlog_value(&ld, 1, f_lr) - 0.05) < 1e-12,
              "first step record: loss %g lr %g", wsss_runlog_value(&ld, 1, f_loss), wsss_runlog_value(&ld, 1, f_lr));
    }
    wsss_runlog_data_free(&ld);
    CHECK(a.t.step == EPOCHS * 4 && a.t.epoch == EPOCHS, "run A: step %lld epoch %lld", (long long)a.t.step,
          (long long)a.t.epoch);
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    CHECK(wsss_ckpt_load_state(ck_a, &st) == WSSS_OK, "A checkpoint: %s", wsss_error_msg());
    CHECK(st.step == EPOCHS * 4 && st.epoch == EPOCHS && st.n_data_pos == 2 && st.data_pos[0] == EPOCHS &&
              st.data_pos[1] == 0,
          "A checkpoint: step %lld epoch %lld pos (%lld, %lld)", (long long)st.step, (long long)st.epoch,
          (long long)st.data_pos[0], (long long)st.data_pos[1]);
    CHECK(st.config && strcmp(st.config, "{\"test\": 1}") == 0, "config text kept");
    wsss_ckpt_state_clear(&st);
    char *cfg = wsss_trainer_ckpt_config(ck_a);
    CHECK(cfg && strcmp(cfg, "{\"test\": 1}") == 0, "wsss_trainer_ckpt_config");
    free(cfg);

    /* B: stop after 5 steps (mid-epoch 1), then resume into fresh objects (other init) and finish. */
    {
        run b;
        CHECK(do_run(&b, 1, ck_b, NULL, 5, -1, -1) == WSSS_TRAINER_INTERRUPTED, "run B should stop");
        CHECK(b.t.step == 5 && b.t.epoch == 1, "B stopped at step %lld epoch %lld", (long long)b.t.step,
              (long long)b.t.epoch);
        run_free(&b);
        wsss_ckpt_state_init(&st);
        CHECK(wsss_ckpt_load_state(ck_b, &st) == WSSS_OK, "B checkpoint: %s", wsss_error_msg());
        CHECK(st.step == 5 && st.epoch == 1 && st.data_pos[0] == 1 && st.data_pos[1] == BATCH,
              "B checkpoint: step %lld epoch %lld pos (%lld, %lld)", (long long)st.step, (long long)st.epoch,
              (long long)st.data_pos[0], (long long)st.data_pos[1]);
        wsss_ckpt_state_clear(&st);
        run b2;
        CHECK(do_run(&b2, 9, ck_b, ck_b, 0, -1, -1) == WSSS_OK, "resume B: %s", wsss_error_msg());
        CHECK(b2.t.resumed, "resumed flag");
        compare("stop after 5 steps + resume", &a, &b2);
        run_free(&b2);
    }

    /* C: a real SIGINT inside step 6 (epoch 1's last step): the step completes, the epoch-end
     * checkpoint stands, the run returns WSSS_TRAINER_INTERRUPTED; resume finishes identically. */
    {
        run c;
        struct sigaction before, after;
        CHECK(sigaction(SIGINT, NULL, &before) == 0, "sigaction");
        CHECK(do_run(&c, 1, ck_c, NULL, 0, 6, -1) == WSSS_TRAINER_INTERRUPTED, "run C should be interrupted");
        CHECK(c.t.step == 7 && c.t.epoch == 1, "C stopped at step %lld epoch %lld", (long long)c.t.step,
              (long long)c.t.epoch);
        run_free(&c);
        /* the SIGINT stays visible to the caller after the run, and the run gave SIGINT back to
         * the handler it found */
        CHECK(wsss_trainer_interrupted(), "wsss_trainer_interrupted() is 0 after a SIGINT stopped run C");
        CHECK(sigaction(SIGINT, NULL, &after) == 0 && after.sa_handler == before.sa_handler,
              "run C left its own SIGINT handler installed");
        run c2;
        CHECK(do_run(&c2, 3, ck_c, ck_c, 0, -1, -1) == WSSS_OK, "resume C: %s", wsss_error_msg());
        CHECK(!wsss_trainer_interrupted(), "a new run did not clear the interrupt of run C");
        compare("SIGINT at step 6 + resume", &a, &c2);
        run_free(&c2);
    }
    /* SIGINT at an epoch's last step (step 7 = 4*2-1): checkpoint at the epoch boundary. */
    {
        run c;
        CHECK(do_run(&c, 1, ck_d, NULL, 0, 7, -1) == WSSS_TRAINER_INTERRUPTED, "run D should be interrupted");
        CHECK(c.t.step == 8 && c.t.epoch == 2, "D stopped at step %lld epoch %lld", (long long)c.t.step,
              (long long)c.t.epoch);
        run_free(&c);
        wsss_ckpt_state_init(&st);
        CHECK(wsss_ckpt_load_state(ck_d, &st) == WSSS_OK && st.step == 8 && st.data_pos[0] == 2 &&
                  st.data_pos[1] == 0,
              "D checkpoint at the epoch boundary");
        wsss_ckpt_state_clear(&st);
        run c2;
        CHECK(do_run(&c2, 3, ck_d, ck_d, 0, -1, -1) == WSSS_OK, "resume D: %s", wsss_error_msg());
        compare("SIGINT at an epoch end + resume", &a, &c2);
        run_free(&c2);
    }

    /* Errors: a missing resume directory names it; a NaN loss stops without a checkpoint; a failing
     * epoch hook stops the run before that epoch's checkpoint. */
    {
        run h;
        char ck_h[1200];
        snprintf(ck_h, sizeof ck_h, "%s/h/ckpt", tmp);
        epoch_hook failing = {.fail_at = 2};
        g_hook = &failing;
        CHECK(do_run(&h, 1, ck_h, NULL, 0, -1, -1) == WSSS_ERR && strstr(wsss_error_msg(), "hook failed at call 2"),
              "failing hook: '%s'", wsss_error_msg());
        g_hook = NULL;
        CHECK(h.t.step == 8, "failing hook: stopped at step %lld, expected 8", (long long)h.t.step);
        run_free(&h);
        wsss_ckpt_state_init(&st);
        CHECK(wsss_ckpt_load_state(ck_h, &st) == WSSS_OK && st.step == 4 && st.epoch == 1,
              "failing hook: the last checkpoint is epoch 1's (step %lld)", (long long)st.step);
        wsss_ckpt_state_clear(&st);
    }
    {
        run e;
        char missing[1200];
        snprintf(missing, sizeof missing, "%s/nope", tmp);
        CHECK(do_run(&e, 1, NULL, missing, 0, -1, -1) == WSSS_ERR && strstr(wsss_error_msg(), "nope"),
              "missing resume dir: '%s'", wsss_error_msg());
        run_free(&e);
        run f;
        char ck_f[1200];
        snprintf(ck_f, sizeof ck_f, "%s/f/ckpt", tmp);
        CHECK(do_run(&f, 1, ck_f, NULL, 0, -1, 2) == WSSS_ERR && strstr(wsss_error_msg(), "not finite"),
              "NaN loss: '%s'", wsss_error_msg());
        CHECK(f.t.step == 2, "NaN step not applied (step %lld)", (long long)f.t.step);
        run_free(&f);
        wsss_ckpt_state_init(&st);
        CHECK(wsss_ckpt_load_state(ck_f, &st) == WSSS_ERR, "no checkpoint written for the NaN run");
        wsss_ckpt_state_clear(&st);
        wsss_error_clear();
    }

    run_free(&a);
    wsss_dataset_free(g_ds);
    return test_summary("test_trainer");
}
