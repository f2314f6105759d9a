/* SGD / AdamW against torch.optim (1.13, foreach=False): same initial parameters, same 5
 * gradients, parameters compared after every step and optimizer state at the end.
 * Fixture: scripts/gen_optim_fixtures.py -> tests/fixtures/optim.safetensors. */
#include <string.h>

#include "test_util.h"
#include "wsss/optim.h"

#define NP 5
#define STEPS 5
#define FIX "optim.safetensors"

typedef struct pcase {
    const char *name;
    wsss_optim_config cfg;
    wsss_lr_schedule sched;
    int n_groups;
    wsss_optim_group groups[4];
    int group_of[NP];
    int no_grad_step, no_grad_param; /* -1: every parameter always has a gradient */
} pcase;

static void run_case(const pcase *c) {
    wsss_tensor *p[NP];
    wsss_optim *o = wsss_optim_new(&c->cfg, c->n_groups, c->groups);
    char key[128];
    for (int i = 0; i < NP; i++) {
        snprintf(key, sizeof key, "init.p%d", i);
        p[i] = fixture_load(FIX, key);
        p[i]->requires_grad = 1;
        snprintf(key, sizeof key, "p%d", i);
        wsss_tensor_set_name(p[i], key);
        wsss_optim_add_param(o, p[i], c->group_of[i]);
    }
    snprintf(key, sizeof key, "%s.lr", c->name);
    wsss_tensor *want_lr = fixture_load(FIX, key);

    double max_rel = 0;
    int64_t n_exact = 0, n_total = 0;
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < NP; i++) {
            wsss_tensor_free(p[i]->grad);
            p[i]->grad = NULL;
            if (t == c->no_grad_step && i == c->no_grad_param) continue;
            snprintf(key, sizeof key, "grad%d.p%d", t, i);
            p[i]->grad = fixture_load(FIX, key);
        }
        double lr = wsss_lr_at(&c->sched, t);
        CHECK(lr == wsss_f64(want_lr)[t], "%s: base lr at step %d is %.17g, torch used %.17g", c->name, t, lr,
              wsss_f64(want_lr)[t]);
        wsss_optim_step(o, lr);
        for (int i = 0; i < NP; i++) {
            snprintf(key, sizeof key, "%s.step%d.p%d", c->name, t, i);
            wsss_tensor *want = fixture_load(FIX, key);
            char what[160];
            snprintf(what, sizeof what, "%s step %d p%d", c->name, t, i);
            check_close(what, p[i], want, 1e-7, 1e-6);
            double r = max_rel_error(p[i], want);
            if (r > max_rel) max_rel = r;
            for (int64_t k = 0; k < wsss_tensor_numel(want); k++)
                n_exact += wsss_f32(p[i])[k] == wsss_f32(want)[k];
            n_total += wsss_tensor_numel(want);
            wsss_tensor_free(want);
        }
    }
    /* Final state buffers, under PyTorch's names. */
    double max_rel_state = 0;
    for (int i = 0; i < NP; i++) {
        for (int b = 0; b < wsss_optim_n_bufs(o); b++) {
            snprintf(key, sizeof key, "%s.state.p%d.%s", c->name, i, wsss_optim_buf_name(o, b));
            wsss_tensor *want = fixture_load(FIX, key);
            CHECK(o->slots[i].buf[b] != NULL, "%s: no state buffer %s", c->name, key);
            if (o->slots[i].buf[b]) {
                check_close(key, o->slots[i].buf[b], want, 1e-7, 1e-6);
                double r = max_rel_error(o->slots[i].buf[b], want);
                if (r > max_rel_state) max_rel_state = r;
            }
            wsss_tensor_free(want);
        }
        int64_t want_steps = STEPS - (c->no_grad_param == i ? 1 : 0);
        CHECK(o->slots[i].step == want_steps, "%s p%d: %lld steps, expected %lld", c->name, i,
              (long long)o->slots[i].step, (long long)want_steps);
    }
    printf("%-13s params max rel err %.3g (%lld/%lld values bit-exact), state max rel err %.3g\n", c->name,
           max_rel, (long long)n_exact, (long long)n_total, max_rel_state);
    for (int i = 0; i < NP; i++) wsss_tensor_free(p[i]);
    wsss_tensor_free(want_lr);
    wsss_optim_free(o);
}

int main(void) {
    wsss_optim_config adamw = wsss_optim_adamw_config();
    wsss_optim_config amsgrad = wsss_optim_adamw_config();
    amsgrad.amsgrad = 1;
    const pcase cases[] = {
        {"sgd_plain", wsss_optim_sgd_config(0, 0, 0), wsss_lr_constant(0.1), 1, {{1, 0}}, {0, 0, 0, 0, 0}, -1, -1},
        {"sgd_momentum", wsss_optim_sgd_config(0.9, 0.1, 0), wsss_lr_constant(0.05), 1, {{1, 0}}, {0, 0, 0, 0, 0},
         -1, -1},
        {"sgd_nesterov", wsss_optim_sgd_config(0.9, 0, 1), wsss_lr_constant(0.05), 1, {{1, 1e-2}},
         {0, 0, 0, 0, 0}, -1, -1},
        {"sgd_groups", wsss_optim_sgd_config(0.9, 0, 1), wsss_lr_poly(0.01, 0.9, 10), 4,
         {{1, 5e-4}, {2, 0}, {10, 5e-4}, {20, 0}}, {0, 1, 2, 3, 2}, 2, 4},
        {"adamw", adamw, wsss_lr_constant(1e-2), 1, {{1, 1e-2}}, {0, 0, 0, 0, 0}, -1, -1},
        {"adamw_groups", amsgrad, wsss_lr_poly(1e-3, 0.9, 10), 2, {{1, 1e-2}, {10, 0}}, {0, 1, 0, 1, 0}, 1, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i]);
    return test_summary("test_optim_parity");
}
