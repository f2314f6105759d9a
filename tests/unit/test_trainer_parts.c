/* The trainer with two parts and a phase rule (trainer.h), as EADER trains its localizer and its
 * adversary: blocks of 3 steps each across epoch boundaries (4 steps per epoch); the inactive
 * part's parameters get no gradient and no update while gradients still flow through it; a
 * parameter frozen by design (part 0's batch norm affine) stays frozen through every phase change;
 * the hook between backward and the optimizer step sees final gradients and unchanged parameters;
 * per-part losses in the JSONL; a checkpoint with both parts, both optimizers and the phase; a run
 * stopped in the middle of an adversary block and resumed into fresh objects ends bit for bit where
 * the uninterrupted one does; resuming with another phase rule or another set of parts is refused
 * with the checkpoint's parts named. One thread, the tiny conv-BN-dropout-fc network twice. */
#include <string.h>
#include <unistd.h>

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
#define STEPS (EPOCHS * 4)
#define K 3
#define CH 5

static wsss_dataset *g_ds;

typedef struct pair_run {
    tiny_model loc, adv; /* part 0 "localizer", part 1 "adversary" */
    wsss_optim *o_loc, *o_adv;
    wsss_loader *l;
    wsss_trainer t;
    int block;                /* the phase rule's block length */
    unsigned seen[STEPS + 4]; /* t->active at each step */
    int bad_trainable[STEPS + 4];
    int hook_calls, hook_bad;
    double loc_before;        /* a localizer weight at the step's start (the hook compares) */
} pair_run;

static unsigned block_phase(void *user, int64_t step) {
    const pair_run *r = user;
    return step % (2 * r->block) < r->block ? 1u : 2u;
}

/* the parameters' requires_grad as the phase wants it: the active part's by design (frozen BN off),
 * the inactive part's all off */
static int trainable_ok(const pair_run *r, unsigned active) {
    const int loc_on = active & 1u, adv_on = (active >> 1) & 1u;
    const tiny_model *lm = &r->loc, *am = &r->adv;
    return lm->cw->requires_grad == loc_on && lm->fw->requires_grad == loc_on && !lm->bw->requires_grad &&
           !lm->bb->requires_grad && am->cw->requires_grad == adv_on && am->bw->requires_grad == adv_on &&
           am->fb->requires_grad == adv_on;
}

/* The localizer's logits gate the adversary's input, so the localizer's loss reaches it through the
 * adversary (as EADER's L_am does): localizer steps minimise loss_loc + 0.5 * loss_adv, adversary
 * steps loss_adv. */
static int step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    pair_run *r = user;
    (void)lr;
    if (t->step < STEPS + 4) {
        r->seen[t->step] = t->active;
        r->bad_trainable[t->step] = !trainable_ok(r, t->active);
    }
    r->loc_before = wsss_f32(r->loc.cw)[0];
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *zl = tiny_model_forward(ctx, &r->loc, b->images, &t->rng);
    wsss_tensor *loss_loc = wsss_multilabel_soft_margin(ctx, zl, b->labels);
    wsss_tensor *gate = wsss_sigmoid(ctx, wsss_mean(ctx, zl, 1u << 1, 1)); /* N,1 */
    wsss_tensor *x2 = wsss_mul(ctx, b->images, wsss_reshape(ctx, gate, 4, (int64_t[]){b->n, 1, 1, 1}));
    wsss_tensor *za = tiny_model_forward(ctx, &r->adv, x2, &t->rng);
    wsss_tensor *loss_adv = wsss_multilabel_soft_margin(ctx, za, b->labels);
    wsss_tensor *loss = t->active == 1u ? wsss_add(ctx, loss_loc, wsss_mul_scalar(ctx, loss_adv, 0.5)) : loss_adv;
    int rc = wsss_backward(ctx, loss);
    stats->loss = wsss_tensor_get(loss, 0);
    stats->has_part_loss = 1;
    stats->part_loss[0] = wsss_tensor_get(loss_loc, 0) + 0.5 * wsss_tensor_get(loss_adv, 0);
    stats->part_loss[1] = wsss_tensor_get(loss_adv, 0);
    wsss_ctx_free(ctx);
    return rc;
}

static int any_nonzero(const wsss_tensor *g) {
    if (!g) return 0;
    for (int64_t i = 0; i < wsss_tensor_numel(g); i++)
        if (wsss_f32(g)[i] != 0.0f) return 1;
    return 0;
}

/* after backward, before the optimizer: the active part has gradients, the inactive and the frozen
 * parameters none, and nothing has moved yet */
static int hook_fn(void *user, wsss_trainer *t) {
    pair_run *r = user;
    r->hook_calls++;
    const int loc_on = t->active & 1u;
    const int ok = any_nonzero(loc_on ? r->loc.cw->grad : r->adv.cw->grad) &&
                   !any_nonzero(loc_on ? r->adv.cw->grad : r->loc.cw->grad) && !any_nonzero(r->loc.bw->grad) &&
                   wsss_f32(r->loc.cw)[0] == r->loc_before;
    r->hook_bad += !ok;
    return WSSS_OK;
}

static const char *g_log_path;

static int do_run(pair_run *r, const char *ckpt, const char *resume, int64_t stop_after, int block, int n_parts) {
    memset(r, 0, sizeof *r);
    r->block = block;
    tiny_model_init(&r->loc, CH, K, 1);
    tiny_model_init(&r->adv, CH, K, 2);
    /* frozen by design: the localizer's batch norm affine */
    wsss_params_set_trainable(&r->loc.ps, "bn.", 0);
    r->o_loc = tiny_model_optim(&r->loc, 0);
    r->o_adv = tiny_model_optim(&r->adv, 1);
    wsss_loader_opts lo;
    wsss_loader_opts_default(&lo);
    lo.batch_size = BATCH;
    lo.seed = 5;
    lo.load_masks = 0;
    lo.aug.hflip_p = 0.5;
    WSSS_ASSERT(wsss_loader_new(g_ds, &lo, &r->l) == WSSS_OK, wsss_error_msg());
    wsss_trainer_opts to;
    wsss_trainer_opts_default(&to);
    to.stage = "test-parts";
    to.epochs = EPOCHS;
    to.ckpt_dir = ckpt;
    to.resume_dir = resume;
    to.progress = 0;
    to.config = "{\"parts\": 2}";
    to.stop_after = stop_after;
    to.log_path = g_log_path;
    to.phase = block_phase;
    to.phase_user = r;
    to.before_step = hook_fn;
    to.before_step_user = r;
    const wsss_trainer_part parts[2] = {
        {.name = "localizer", .params = &r->loc.ps, .opt = r->o_loc, .sched = wsss_lr_poly(0.05, 0.9, STEPS)},
        {.name = "adversary", .params = &r->adv.ps, .opt = r->o_adv, .sched = wsss_lr_constant(0.02)}};
    if (wsss_trainer_init_parts(&r->t, &to, n_parts, parts, r->l, 77) != WSSS_OK) return WSSS_ERR;
    return wsss_trainer_run(&r->t, step_fn, r);
}

static void run_free(pair_run *r) {
    wsss_trainer_free(&r->t);
    wsss_loader_free(r->l);
    wsss_optim_free(r->o_loc);
    wsss_optim_free(r->o_adv);
    wsss_params_free(&r->loc.ps);
    wsss_params_free(&r->adv.ps);
}

static int same_bits(const wsss_tensor *a, const wsss_tensor *b) {
    if (!a || !b) return a == b;
    return a->dtype == b->dtype && wsss_tensor_same_shape(a, b) && memcmp(a->data, b->data, wsss_tensor_nbytes(a)) == 0;
}

static int same_optim(const wsss_optim *a, const wsss_optim *b) {
    int ok = a->n_slots == b->n_slots;
    for (int i = 0; ok && i < a->n_slots; i++) {
        ok = a->slots[i].step == b->slots[i].step;
        for (int k = 0; ok && k < 3; k++) ok = same_bits(a->slots[i].buf[k], b->slots[i].buf[k]);
    }
    return ok;
}

static void compare(const char *what, const pair_run *a, const pair_run *c) {
    const wsss_params *pa[2] = {&a->loc.ps, &a->adv.ps}, *pc[2] = {&c->loc.ps, &c->adv.ps};
    int all = 1;
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < wsss_params_count(pa[p]); i++) {
            const wsss_tensor *x = wsss_params_at(pa[p], i)->t, *y = wsss_params_at(pc[p], i)->t;
            const int same = same_bits(x, y);
            CHECK(same, "%s: %s of part %d differs from the uninterrupted run", what, x->name, p);
            all &= same;
        }
    CHECK(same_optim(a->o_loc, c->o_loc) && same_optim(a->o_adv, c->o_adv), "%s: optimizer state differs", what);
    CHECK(memcmp(a->t.rng.s, c->t.rng.s, sizeof a->t.rng.s) == 0, "%s: trainer RNG differs", what);
    CHECK(a->t.parts[0].steps == c->t.parts[0].steps && a->t.parts[1].steps == c->t.parts[1].steps,
          "%s: part steps %lld/%lld vs %lld/%lld", what, (long long)a->t.parts[0].steps,
          (long long)a->t.parts[1].steps, (long long)c->t.parts[0].steps, (long long)c->t.parts[1].steps);
    printf("%s: %s\n", what, all ? "bit-identical to the uninterrupted run" : "DIFFERS");
}

static void make_dataset(const char *root) {
    vf_root(root);
    char list[4096] = "";
    for (int i = 0; i < NIMG; i++) {
        char id[32];
        snprintf(id, sizeof id, "img%02d", i);
        vf_image(root, id, 12, 10);
        int vals[3] = {0, 1 + i % K, 1 + (i / K) % K};
        vf_mask(root, "SegmentationClass", id, 12, 10, 3, vals);
        strcat(list, id);
        strcat(list, "\n");
    }
    vf_write(test_path(root, "ImageSets/Segmentation/train.txt"), list);
    vf_write(test_path(root, "classes.txt"), "background\na\nb\nc\n");
    CHECK(wsss_dataset_open(root, NULL, &g_ds) == WSSS_OK, "open: %s", wsss_error_msg());
}

int main(void) {
    wsss_runtime_init();
    wsss_set_threads(1);
    const char *tmp = test_tmp_dir("test_trainer_parts");
    char root[1100], ck_a[1100], ck_b[1100], logp[1100];
    snprintf(root, sizeof root, "%s/voc", tmp);
    snprintf(ck_a, sizeof ck_a, "%s/a/ckpt", tmp);
    snprintf(ck_b, sizeof ck_b, "%s/b/ckpt", tmp);
    snprintf(logp, sizeof logp, "%s/a/test.jsonl", tmp);
    make_dataset(root);
    if (!g_ds) return test_summary("test_trainer_parts");

    /* A: uninterrupted, 12 steps in blocks of 3: L L L A | A A L L | L A A A (epochs of 4) */
    pair_run a;
    const float bn_w0 = 1.0f, bn_b0 = 0.0f;
    remove(logp);
    g_log_path = logp;
    CHECK(do_run(&a, ck_a, NULL, 0, 3, 2) == WSSS_OK, "run A: %s", wsss_error_msg());
    g_log_path = NULL;
    int phase_ok = 1, trainable_bad = 0;
    for (int s = 0; s < STEPS; s++) {
        phase_ok &= a.seen[s] == (s % 6 < 3 ? 1u : 2u);
        trainable_bad += a.bad_trainable[s];
    }
    CHECK(phase_ok, "the phases of the 12 steps are not 3 localizer / 3 adversary blocks across epochs");
    CHECK(trainable_bad == 0, "%d steps saw requires_grad other than the phase's (frozen BN must stay off)",
          trainable_bad);
    CHECK(a.hook_calls == STEPS && a.hook_bad == 0, "before_step hook: %d calls, %d saw the wrong gradients or a "
          "moved parameter", a.hook_calls, a.hook_bad);
    CHECK(a.t.parts[0].steps == 6 && a.t.parts[1].steps == 6, "part steps %lld / %lld, expected 6 / 6",
          (long long)a.t.parts[0].steps, (long long)a.t.parts[1].steps);
    /* every slot of an active part stepped 6 times; the frozen BN affine never (and kept its values,
     * weight decay included) */
    for (int i = 0; i < a.o_loc->n_slots; i++) {
        const wsss_optim_slot *sl = &a.o_loc->slots[i];
        const int frozen = strncmp(sl->param->name, "bn.", 3) == 0;
        CHECK(sl->step == (frozen ? 0 : 6), "localizer %s stepped %lld times", sl->param->name, (long long)sl->step);
    }
    for (int i = 0; i < a.o_adv->n_slots; i++)
        CHECK(a.o_adv->slots[i].step == 6, "adversary %s stepped %lld times", a.o_adv->slots[i].param->name,
              (long long)a.o_adv->slots[i].step);
    int bn_same = 1;
    for (int c = 0; c < CH; c++) bn_same &= wsss_f32(a.loc.bw)[c] == bn_w0 && wsss_f32(a.loc.bb)[c] == bn_b0;
    CHECK(bn_same, "the frozen batch norm affine of the localizer changed");
    /* the design state is back after the run: frozen stays frozen, the rest trainable */
    CHECK(trainable_ok(&a, 3u), "after the run the parameters do not have their design trainability");

    /* JSONL: the phase and both parts' losses per step, their epoch means */
    wsss_runlog_data ld;
    CHECK(wsss_runlog_read(logp, &ld) == WSSS_OK, "log: %s", wsss_error_msg());
    const int f_ll = wsss_runlog_field(&ld, "loss_localizer"), f_la = wsss_runlog_field(&ld, "loss_adversary"),
              f_el = wsss_runlog_field(&ld, "epoch_loss_adversary");
    CHECK(f_ll >= 0 && f_la >= 0 && f_el >= 0, "log fields loss_localizer / loss_adversary / epoch_loss_adversary");
    if (f_la >= 0 && ld.n_records > 2)
        CHECK(isfinite(wsss_runlog_value(&ld, 1, f_la)) && isfinite(wsss_runlog_value(&ld, 1, f_ll)),
              "the first step record has both losses");
    wsss_runlog_data_free(&ld);
    size_t n = 0;
    char *text = test_read_file(logp, &n);
    CHECK(text && strstr(text, "\"phase\":\"localizer\"") && strstr(text, "\"phase\":\"adversary\""),
          "the log names the phase of each step");
    free(text);

    /* the checkpoint: both parts' files, state with the parts and the phase of the last step */
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    CHECK(wsss_ckpt_load_state(ck_a, &st) == WSSS_OK, "A checkpoint: %s", wsss_error_msg());
    CHECK(st.n_parts == 2 && !strcmp(st.parts[0].name, "localizer") && !strcmp(st.parts[1].name, "adversary") &&
              st.parts[0].steps == 6 && st.parts[1].steps == 6 && st.phase == 2u && st.step == STEPS,
          "A checkpoint state: %d parts, phase %u", st.n_parts, st.phase);
    CHECK(st.parts[1].sched.kind == WSSS_LR_CONSTANT && st.parts[0].sched.kind == WSSS_LR_POLY,
          "each part's schedule is stored");
    wsss_ckpt_state_clear(&st);
    CHECK(access(test_path(ck_a, "part-adversary.safetensors"), 0) == 0 &&
              access(test_path(ck_a, "part-adversary.optim.safetensors"), 0) == 0,
          "the adversary's files are in the checkpoint");
    /* part 0 alone in model.safetensors, with the network's own names (readers of one network) */
    {
        tiny_model m;
        tiny_model_init(&m, CH, K, 9);
        CHECK(wsss_params_load_safetensors(&m.ps, test_path(ck_a, "model.safetensors"), 1, NULL) == WSSS_OK &&
                  same_bits(m.cw, a.loc.cw),
              "model.safetensors holds the localizer: %s", wsss_error_msg());
        wsss_params_free(&m.ps);
    }

    /* B: stopped after 5 steps (steps 3, 4 of the adversary block 3..5 done, in epoch 1), resumed
     * into fresh objects */
    {
        pair_run b;
        CHECK(do_run(&b, ck_b, NULL, 5, 3, 2) == WSSS_TRAINER_INTERRUPTED, "run B should stop");
        run_free(&b);
        wsss_ckpt_state_init(&st);
        CHECK(wsss_ckpt_load_state(ck_b, &st) == WSSS_OK && st.step == 5 && st.phase == 2u && st.parts[0].steps == 3 &&
                  st.parts[1].steps == 2,
              "B checkpoint: step %lld phase %u steps %lld/%lld", (long long)st.step, st.phase,
              (long long)st.parts[0].steps, (long long)st.parts[1].steps);
        wsss_ckpt_state_clear(&st);
        /* a run whose phase rule differs (blocks of 2: step 4 would be the localizer's) is refused */
        pair_run wrong;
        CHECK(do_run(&wrong, ck_b, ck_b, 0, 2, 2) == WSSS_ERR && strstr(wsss_error_msg(), "phase") &&
                  strstr(wsss_error_msg(), "adversary"),
              "another phase rule: '%s'", wsss_error_msg());
        run_free(&wrong);
        /* a one-network run cannot resume it: the message names the stored parts */
        pair_run one;
        CHECK(do_run(&one, NULL, ck_b, 0, 3, 1) == WSSS_ERR && strstr(wsss_error_msg(), "localizer, adversary") &&
                  strstr(wsss_error_msg(), "one network"),
              "one part from a two-part checkpoint: '%s'", wsss_error_msg());
        run_free(&one);
        pair_run b2;
        CHECK(do_run(&b2, ck_b, ck_b, 0, 3, 2) == WSSS_OK, "resume B: %s", wsss_error_msg());
        int resumed_phases = 1;
        for (int s = 5; s < STEPS; s++) resumed_phases &= b2.seen[s] == (s % 6 < 3 ? 1u : 2u);
        CHECK(resumed_phases, "the resumed run continues the phase schedule");
        compare("two parts stopped mid adversary block + resumed", &a, &b2);
        run_free(&b2);
    }
    wsss_error_clear();
    run_free(&a);
    wsss_dataset_free(g_ds);
    return test_summary("test_trainer_parts");
}
