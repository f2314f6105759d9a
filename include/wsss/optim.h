/* Optimizers (SGD with momentum/dampening/Nesterov, AdamW) with PyTorch 1.13's exact update rules,
 * parameter groups with lr multipliers and per-group weight decay, and lr schedules.
 *
 * Float order follows torch.optim's single-tensor (foreach=False) path on an FMA CPU: every
 * `a.add_(b, alpha=s)` / `addcmul_` is a fused multiply-add with the scalar rounded to float, so
 * float32 results agree with PyTorch to the last bit or two.
 *
 *   wsss_optim *o = wsss_optim_new(&cfg, 4, groups);   // groups: {lr_mult, weight_decay}
 *   wsss_optim_add_param(o, w, 0); ...                 // or wsss_optim_add_params(o, registry)
 *   for (step...) { zero grads; forward; backward; wsss_optim_step(o, wsss_lr_at(&sched, it)); }
 *
 * Parameters whose grad is NULL (or whose requires_grad is 0) are skipped in a step, as in
 * PyTorch. State (momentum buffers; m, v, v_max; per-parameter step counts) is saved to and
 * loaded from safetensors by parameter name, for checkpoints. */
#ifndef WSSS_OPTIM_H
#define WSSS_OPTIM_H

#include <stdint.h>

#include "wsss/safetensors.h"
#include "wsss/tensor.h"

struct wsss_params;

typedef enum { WSSS_OPTIM_SGD = 0, WSSS_OPTIM_ADAMW } wsss_optim_kind;

typedef struct wsss_optim_config {
    wsss_optim_kind kind;
    /* SGD (torch.optim.SGD): momentum 0 = plain SGD */
    double momentum, dampening;
    int nesterov; /* requires momentum > 0 and dampening == 0, as PyTorch */
    /* AdamW (torch.optim.AdamW); wsss_optim_adamw_config() gives PyTorch's defaults */
    double beta1, beta2, eps;
    int amsgrad;
} wsss_optim_config;

wsss_optim_config wsss_optim_sgd_config(double momentum, double dampening, int nesterov);
wsss_optim_config wsss_optim_adamw_config(void); /* betas (0.9, 0.999), eps 1e-8, no amsgrad */

/* A parameter group: lr = base lr (from the schedule) * lr_mult; its own weight decay. */
typedef struct wsss_optim_group {
    double lr_mult;
    double weight_decay;
} wsss_optim_group;

/* Per-parameter state. buf[] meaning: SGD {momentum_buffer}; AdamW {exp_avg, exp_avg_sq,
 * max_exp_avg_sq (amsgrad only)}. Buffers are NULL until the parameter's first step. */
typedef struct wsss_optim_slot {
    wsss_tensor *param; /* not owned */
    int group;
    int64_t step;       /* updates applied to this parameter */
    wsss_tensor *buf[3];
    wsss_tensor *step_t; /* I64 [1] mirror of step, refreshed when the state is saved */
} wsss_optim_slot;

typedef struct wsss_optim {
    wsss_optim_config cfg;
    int n_groups;
    wsss_optim_group *groups;
    int n_slots, cap_slots;
    wsss_optim_slot *slots;
} wsss_optim;

/* Asserts on invalid hyper-parameters (negative lr multipliers, nesterov without momentum ...). */
wsss_optim *wsss_optim_new(const wsss_optim_config *cfg, int n_groups, const wsss_optim_group *groups);
void wsss_optim_free(wsss_optim *o);
/* Register a contiguous F32 parameter in group `group`. Order of registration is the update order. */
void wsss_optim_add_param(wsss_optim *o, wsss_tensor *param, int group);
/* Register every parameter (not buffer) of a registry with its group index; frozen ones
 * (requires_grad = 0) are registered too and skipped by steps, so they can be unfrozen later. */
void wsss_optim_add_params(wsss_optim *o, const struct wsss_params *reg);
/* One update of every registered parameter that has a gradient, with group lr = base_lr * lr_mult. */
void wsss_optim_step(wsss_optim *o, double base_lr);
/* Zero (not free) the gradients of registered parameters. */
void wsss_optim_zero_grad(wsss_optim *o);

/* Number of state buffers per parameter for this configuration (1, 2 or 3). */
int wsss_optim_n_bufs(const wsss_optim *o);
/* Name of state buffer i ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"). */
const char *wsss_optim_buf_name(const wsss_optim *o, int i);

/* ---- state save/load (safetensors; keys "<param name>.<buffer>" and "<param name>.step") ----
 * Parameters without a name are keyed "param<index>". Metadata records the optimizer kind and
 * hyper-parameters. */
/* Add the state tensors and metadata to w (tensors are referenced: save w before the next step). */
void wsss_optim_state_add(const wsss_optim *o, wsss_st_writer *w);
/* Convenience: write the state to path (atomic). */
int wsss_optim_state_save(const wsss_optim *o, const char *path);
/* Load state from an open file into o (same configuration kind, same parameters registered).
 * Errors name the file and the tensor/field (missing, shape mismatch, unknown entry, wrong kind). */
int wsss_optim_state_load(wsss_optim *o, const wsss_safetensors *st);

/* ---- learning-rate schedules (src/optim/schedule.c) ---- */
typedef enum { WSSS_LR_CONSTANT = 0, WSSS_LR_STEP, WSSS_LR_POLY, WSSS_LR_COSINE } wsss_lr_kind;

#define WSSS_LR_MAX_MILESTONES 8

typedef struct wsss_lr_schedule {
    wsss_lr_kind kind;
    double base_lr;
    /* STEP (torch MultiStepLR): lr = base * gamma^(number of milestones <= t) */
    double gamma;
    int n_milestones;
    int64_t milestones[WSSS_LR_MAX_MILESTONES];
    /* POLY: lr = base * (1 - t / max_iter)^power for t < max_iter, 0 after */
    double power;
    int64_t max_iter; /* POLY and COSINE */
    /* COSINE (torch CosineAnnealingLR, eta_min 0, one half period):
       lr = base * (1 + cos(pi * t / max_iter)) / 2 for t < max_iter, 0 after */
} wsss_lr_schedule;

wsss_lr_schedule wsss_lr_constant(double base_lr);
wsss_lr_schedule wsss_lr_step(double base_lr, double gamma, int n_milestones, const int64_t *milestones);
wsss_lr_schedule wsss_lr_poly(double base_lr, double power, int64_t max_iter);
wsss_lr_schedule wsss_lr_cosine(double base_lr, int64_t max_iter);
/* Base lr at t (iteration or epoch, in the unit the schedule was built with). */
double wsss_lr_at(const wsss_lr_schedule *s, int64_t t);
const char *wsss_lr_kind_name(wsss_lr_kind k); /* "constant", "step", "poly", "cosine" */
/* Parse a kind name; WSSS_ERR (no message) if unknown. */
int wsss_lr_kind_parse(const char *name, wsss_lr_kind *out);

#endif
