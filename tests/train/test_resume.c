/* Resuming from a checkpoint is exact: a tiny CNN (conv-BN-ReLU-dropout-GAP-linear,
 * BCE-with-logits) trained 2N steps with SGD-Nesterov, 4 parameter groups and a poly schedule on
 * one thread ends bit-for-bit where N steps + save + load into fresh objects + N steps ends:
 * parameters, BN running statistics, optimizer state and the dropout RNG (memcmp). */
#include <string.h>

#include "test_util.h"
#include "tiny_model.h"
#include "wsss/checkpoint.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"

#define N_STEPS 4 /* N; the reference run takes 2N */
#define BATCH 3
#define CLASSES 5
#define SIZE 8
#define DATA_SEED 99

typedef tiny_model model;

/* Groups as the WSSS methods use: 0 backbone weights, 1 backbone biases, 2 head weights, 3 head biases. */
static void model_init(model *m, uint64_t seed) { tiny_model_init(m, 8, CLASSES, seed); }

static wsss_optim *make_optim(model *m) { return tiny_model_optim(m, 1); }

/* One training step on batch `batch` (the data-loader position): data depends only on it. */
static void train_step(model *m, wsss_optim *o, wsss_rng *dropout_rng, const wsss_lr_schedule *sched,
                       int64_t step, int64_t batch) {
    wsss_rng dr;
    wsss_rng_seed3(&dr, DATA_SEED, 0, (uint64_t)batch);
    wsss_tensor *x = wsss_tensor_new4(WSSS_F32, BATCH, 3, SIZE, SIZE);
    wsss_tensor *y = wsss_tensor_new(WSSS_F32, 2, (int64_t[]){BATCH, CLASSES});
    for (int64_t k = 0; k < wsss_tensor_numel(x); k++) wsss_f32(x)[k] = (float)wsss_rng_normal(&dr);
    for (int64_t k = 0; k < wsss_tensor_numel(y); k++) wsss_f32(y)[k] = wsss_rng_uniform(&dr) < 0.4 ? 1.0f : 0.0f;

    wsss_params_zero_grad(&m->ps, 1);
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *logits = tiny_model_forward(ctx, m, x, dropout_rng);
    wsss_tensor *loss = wsss_bce_with_logits(ctx, logits, y);
    WSSS_ASSERT(wsss_backward(ctx, loss) == WSSS_OK, "backward failed");
    wsss_optim_step(o, wsss_lr_at(sched, step));
    wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_tensor_free(y);
}

static int same_bits(const wsss_tensor *a, const wsss_tensor *b) {
    if (!a || !b) return a == b;
    return a->dtype == b->dtype && wsss_tensor_same_shape(a, b) && memcmp(a->data, b->data, wsss_tensor_nbytes(a)) == 0;
}

int main(void) {
    wsss_runtime_init();
    wsss_set_threads(1);
    const wsss_lr_schedule sched = wsss_lr_poly(0.05, 0.9, 2 * N_STEPS + 2);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/ckpt", test_tmp_dir("test_resume"));

    /* Reference: 2N steps without interruption. */
    model a;
    model_init(&a, 1);
    wsss_optim *oa = make_optim(&a);
    wsss_rng ra;
    wsss_rng_seed(&ra, 2024);
    for (int64_t s = 0; s < 2 * N_STEPS; s++) train_step(&a, oa, &ra, &sched, s, s);

    /* N steps, checkpoint, free everything. */
    {
        model b;
        model_init(&b, 1);
        wsss_optim *ob = make_optim(&b);
        wsss_rng rb;
        wsss_rng_seed(&rb, 2024);
        for (int64_t s = 0; s < N_STEPS; s++) train_step(&b, ob, &rb, &sched, s, s);
        wsss_ckpt_state st;
        wsss_ckpt_state_init(&st);
        st.step = N_STEPS;
        st.epoch = 0;
        st.sched = sched;
        st.lr = wsss_lr_at(&sched, N_STEPS - 1);
        st.rng = rb;
        st.n_data_pos = 1;
        st.data_pos[0] = N_STEPS; /* next batch */
        wsss_ckpt_state_set_config(&st, "test_resume");
        CHECK(wsss_ckpt_save(dir, &b.ps, ob, &st) == WSSS_OK, "save: %s", wsss_error_msg());
        wsss_ckpt_state_clear(&st);
        wsss_optim_free(ob);
        wsss_params_free(&b.ps);
    }

    /* Fresh objects (different init, so loading must overwrite everything), load, N more steps. */
    model c;
    model_init(&c, 7);
    wsss_optim *oc = make_optim(&c);
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    CHECK(wsss_ckpt_load(dir, &c.ps, oc, &st) == WSSS_OK, "load: %s", wsss_error_msg());
    CHECK(st.step == N_STEPS && st.n_data_pos == 1 && st.data_pos[0] == N_STEPS && st.sched.kind == WSSS_LR_POLY,
          "state: step %lld", (long long)st.step);
    wsss_rng rc = st.rng;
    for (int64_t s = st.step, b = st.data_pos[0]; s < 2 * N_STEPS; s++, b++) train_step(&c, oc, &rc, &st.sched, s, b);

    int all = 1;
    for (int i = 0; i < wsss_params_count(&a.ps); i++) {
        const wsss_param *pa = wsss_params_at(&a.ps, i), *pc = wsss_params_at(&c.ps, i);
        int same = same_bits(pa->t, pc->t);
        CHECK(same, "%s differs between 2N steps and N + resume + N", pa->t->name);
        all &= same;
    }
    for (int i = 0; i < oa->n_slots; i++) {
        CHECK(oa->slots[i].step == oc->slots[i].step, "optimizer step count of slot %d", i);
        for (int k = 0; k < 3; k++)
            CHECK(same_bits(oa->slots[i].buf[k], oc->slots[i].buf[k]), "optimizer buffer %d of %s differs", k,
                  oa->slots[i].param->name);
    }
    CHECK(memcmp(ra.s, rc.s, sizeof ra.s) == 0 && ra.has_spare == rc.has_spare &&
              (!ra.has_spare || memcmp(&ra.spare, &rc.spare, sizeof ra.spare) == 0),
          "dropout RNG state differs");
    /* Sanity: training moved the parameters (the comparison is not between two untouched models). */
    model d;
    model_init(&d, 1);
    CHECK(!same_bits(a.fw, d.fw) && !same_bits(a.rm, d.rm), "training changed the parameters and BN statistics");
    printf("resume after %d of %d steps: parameters, buffers, optimizer state and RNG %s\n", N_STEPS, 2 * N_STEPS,
           all ? "bit-identical" : "DIFFER");

    wsss_params_free(&d.ps);
    wsss_ckpt_state_clear(&st);
    wsss_optim_free(oa);
    wsss_optim_free(oc);
    wsss_params_free(&a.ps);
    wsss_params_free(&c.ps);
    return test_summary("test_resume");
}
