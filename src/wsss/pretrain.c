/* `wsss pretrain`: single-label backbone pretraining on an ImageFolder (pretrain.h). */
#include "wsss/pretrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsss/fs.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/dist.h"
#include "wsss/error.h"
#include "wsss/image_folder.h"
#include "wsss/loader.h"
#include "wsss/models.h"
#include "wsss/ops.h"
#include "wsss/optim.h"
#include "wsss/run_layout.h"
#include "wsss/clock.h"
#include "wsss/progress.h"
#include "wsss/runlog.h"
#include "wsss/safetensors.h"
#include "wsss/train_common.h"
#include "wsss/trainer.h"

#define STAGE "pretrain"

const wsss_choice wsss_pretrain_lr_policy_choices[] = {{"cosine", WSSS_LR_COSINE}, {"poly", WSSS_LR_POLY}, {NULL, 0}};
#define RUN_PRETRAIN_CKPT "pretrain/ckpt"
#define RUN_PRETRAIN_BACKBONE "pretrain/backbone.safetensors"

void wsss_pretrain_config_default(wsss_pretrain_config *c) {
    memset(c, 0, sizeof *c);
    c->split = "train";
    c->val_split = "val";
    c->run = "run";
    c->arch = "resnet18";
    c->epochs = 10;
    c->batch = 64;
    c->size = 64;
    c->rrc_min = 0.35; /* objects fill 40-90% of the frame: torchvision's 0.08 would often crop them away */
    c->hflip = 0.5;
    c->optim = WSSS_OPTIM_SGD;
    c->lr = 0.1;
    c->momentum = 0.9;
    c->weight_decay = 1e-4;
    c->lr_policy = WSSS_LR_COSINE;
    c->lr_power = 0.9;
    c->label_smoothing = 0.0;
    c->log_every = 1;
    c->progress = 1;
}

/* ---- config <-> JSON (config_table.h) ---- */

#define FS(n) WSSS_CFG_S(wsss_pretrain_config, n)
#define FI(n) WSSS_CFG_I(wsss_pretrain_config, n)
#define FD(n) WSSS_CFG_D(wsss_pretrain_config, n)
#define FE(n, choices) WSSS_CFG_E(wsss_pretrain_config, n, choices)
static const wsss_cfg_field k_fields[] = {
    FS(data), FS(split), FS(val_split), FI(no_val), FS(run), FS(ckpt), FS(out), FS(head), FS(log), FS(arch),
    FI(epochs), FI(batch), FI(size), FD(rrc_min), FD(hflip), FE(optim, wsss_train_optim_choices), FD(lr), FD(momentum), FD(weight_decay),
    FE(lr_policy, wsss_pretrain_lr_policy_choices), FD(lr_power), FD(label_smoothing), FI(seed), FI(workers), FI(log_every), FI(skip_bad), FI(sync_bn),
};
static void set_default(void *c) { wsss_pretrain_config_default(c); }
const wsss_cfg_table wsss_pretrain_config_table = {
    "stage", STAGE, k_fields, (int)(sizeof k_fields / sizeof k_fields[0]), sizeof(wsss_pretrain_config), set_default};

char *wsss_pretrain_ckpt_dir(const wsss_pretrain_config *c) {
    return c->ckpt ? wsss_xstrdup(c->ckpt) : wsss_run_path(c->run, RUN_PRETRAIN_CKPT);
}

/* ---- the network: zoo backbone + GAP + linear "fc" ---- */

typedef struct pretrain_net {
    wsss_model m;         /* the backbone alone (num_classes 0: forward returns its feature map) */
    wsss_linear_layer fc; /* registered in m.params as fc.weight, fc.bias */
    int num_classes;
} pretrain_net;

static int net_create(pretrain_net *n, const char *arch, int num_classes) {
    memset(n, 0, sizeof *n);
    wsss_arch a;
    if (wsss_arch_parse(arch, &a) != WSSS_OK) {
        wsss_error_prefix("--arch");
        return WSSS_ERR;
    }
    if (a.seg_head != WSSS_HEAD_NONE)
        return wsss_error_set("--arch %s: a segmentation model (expected a backbone: %s, without -largefov/-aspp)",
                              arch, wsss_model_arch_help());
    wsss_model_opts o = wsss_model_opts_default();
    o.num_classes = 0;
    o.dtype = WSSS_F32;
    if (wsss_model_build(&n->m, &a, &o) != WSSS_OK) {
        wsss_error_prefix("--arch");
        return WSSS_ERR;
    }
    const int64_t ch = n->m.a.backbone == WSSS_BACKBONE_RESNET ? n->m.resnet.out_channels : n->m.vgg.out_channels;
    wsss_linear_init(&n->fc, &n->m.params, "fc", WSSS_F32, ch, num_classes, 1, WSSS_GROUP_NEW);
    n->num_classes = num_classes;
    return WSSS_OK;
}

static void net_free(pretrain_net *n) {
    if (n->m.arch[0]) wsss_model_free(&n->m);
    memset(n, 0, sizeof *n);
}

/* torchvision's initialisation of the backbone, PyTorch's nn.Linear default for the head */
static void net_reset(pretrain_net *n, int seed) {
    wsss_rng r;
    wsss_rng_seed3(&r, (uint64_t)seed, 0x494e4954ULL, 0);
    wsss_model_reset_parameters(&n->m, &r);
    wsss_init_torch_default(n->fc.weight, n->fc.bias, &r);
}

/* class scores N,K of normalised images x */
static wsss_tensor *net_forward(wsss_ctx *ctx, pretrain_net *n, wsss_tensor *x, int training) {
    wsss_tensor *f = wsss_model_forward(ctx, &n->m, x, training, NULL, NULL);
    wsss_tensor *pooled = wsss_global_avgpool(ctx, f);
    wsss_tensor *flat = wsss_reshape(ctx, pooled, 2, (int64_t[]){pooled->shape[0], pooled->shape[1]});
    return wsss_linear_forward(ctx, &n->fc, flat);
}

/* The registry without the head: exactly torchvision's backbone state_dict. */
static wsss_params backbone_view(const pretrain_net *n) {
    const wsss_params *ps = &n->m.params;
    wsss_params v = *ps;
    v.items = wsss_xmalloc(sizeof(wsss_param) * (size_t)(ps->n + 1));
    v.n = 0;
    for (int i = 0; i < ps->n; i++)
        if (strncmp(ps->items[i].t->name, "fc.", 3) != 0) v.items[v.n++] = ps->items[i];
    return v;
}

static int save_file(wsss_st_writer *w, const char *path) {
    wsss_remove_stale_tmp_files(path); /* left by a run killed while writing it */
    int rc = wsss_mkdirs_parent(path) == WSSS_OK ? wsss_st_writer_save(w, path) : WSSS_ERR;
    wsss_st_writer_free(w);
    return rc;
}

static void add_meta(wsss_st_writer *w, const char *kind, const pretrain_net *n) {
    char k[32];
    snprintf(k, sizeof k, "%d", n->num_classes);
    wsss_st_writer_meta(w, "wsss_model", kind);
    wsss_st_writer_meta(w, "arch", n->m.arch);
    wsss_st_writer_meta(w, "num_classes", k);
}

static int save_backbone(const pretrain_net *n, const char *path) {
    wsss_params v = backbone_view(n);
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(&v, w, NULL, 1);
    add_meta(w, "backbone", n);
    int rc = save_file(w, path); /* the writer references the tensors until saved */
    free(v.items);
    return rc;
}

static int save_head(const pretrain_net *n, const wsss_image_folder *f, const char *path) {
    size_t len = 1;
    for (int k = 0; k < f->num_classes; k++) len += strlen(f->class_names[k]) + 1;
    char *names = wsss_xmalloc(len);
    names[0] = 0;
    for (int k = 0; k < f->num_classes; k++) {
        if (k) strcat(names, "\n");
        strcat(names, f->class_names[k]);
    }
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "fc.weight", n->fc.weight);
    wsss_st_writer_add(w, "fc.bias", n->fc.bias);
    add_meta(w, "pretrain-head", n);
    wsss_st_writer_meta(w, "classes", names);
    free(names);
    return save_file(w, path);
}

/* What a complete run writes: the backbone at path, and the head where asked. */
typedef struct pretrain_output {
    const pretrain_net *net;
    const wsss_image_folder *classes;
    const char *head; /* or NULL */
} pretrain_output;

static int save_output(const void *output, const char *path) {
    const pretrain_output *o = output;
    if (save_backbone(o->net, path) != WSSS_OK) return WSSS_ERR;
    return o->head ? save_head(o->net, o->classes, o->head) : WSSS_OK;
}

/* ---- settings ---- */

int wsss_pretrain_config_check(const wsss_pretrain_config *c) {
    if (!c->data) return wsss_error_set("no dataset given (--data DIR)");
    if (!c->split || !*c->split) return wsss_error_set("--split: expected a folder name under --data");
    if (!c->no_val && (!c->val_split || !*c->val_split))
        return wsss_error_set("--val-split: expected a folder name under --data (or --no-val)");
    if (wsss_train_check_common(c->epochs, c->batch, c->lr, c->weight_decay, c->momentum, c->hflip) != WSSS_OK ||
        wsss_train_check_crop(c->size, c->rrc_min) != WSSS_OK)
        return WSSS_ERR;
    if (!(c->lr_power >= 0)) return wsss_train_setting_error("lr-power", c->lr_power, ">= 0");
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 1))
        return wsss_train_setting_error("label-smoothing", c->label_smoothing, "0 <= F < 1");
    /* the typed settings were parsed at the command line or from a stored config */
    WSSS_ASSERT(wsss_choice_has(wsss_train_optim_choices, (int)c->optim), "pretrain: optimizer");
    WSSS_ASSERT(wsss_choice_has(wsss_pretrain_lr_policy_choices, (int)c->lr_policy), "pretrain: lr policy");
    /* the zoo's own rules for the arch name (a throwaway model: zero-filled, no data touched) */
    pretrain_net probe;
    int rc = net_create(&probe, c->arch ? c->arch : "", 2);
    net_free(&probe);
    return rc;
}

/* ---- one training step ---- */

/* The class index of each one-hot label row (image_folder.h: exactly one label per image). */
static wsss_tensor *targets_of(wsss_ctx *ctx, const wsss_tensor *labels) {
    const int64_t n = labels->shape[0], k = labels->shape[1];
    wsss_tensor *t = wsss_ctx_tensor(ctx, WSSS_I64, 1, &n);
    const float *y = wsss_f32(labels);
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (y[i * k + j] > y[i * k + best]) best = j;
        ((int64_t *)t->data)[i] = best;
    }
    return t;
}

/* How many rows have their target among the top `top` scores (ties broken towards the lower
 * class index, like a stable sort). */
static int64_t count_topk(const wsss_tensor *logits, const wsss_tensor *target, int top) {
    const int64_t n = logits->shape[0], k = logits->shape[1];
    const float *x = wsss_f32(logits);
    const int64_t *t = target->data;
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * k, want = row[t[i]];
        int64_t rank = 0;
        for (int64_t j = 0; j < k; j++) rank += row[j] > want || (row[j] == want && j < t[i]);
        hits += rank < top;
    }
    return hits;
}

typedef struct pretrain_step {
    pretrain_net *net;
    double smoothing;
    wsss_ctx *ctx;
} pretrain_step;

static int step_fn(void *user, wsss_trainer *t, const wsss_batch *b, double lr, wsss_trainer_stats *stats) {
    (void)t;
    (void)lr;
    pretrain_step *s = user;
    wsss_ctx_reset(s->ctx);
    wsss_tensor *logits = net_forward(s->ctx, s->net, b->images, 1);
    wsss_tensor *target = targets_of(s->ctx, b->labels);
    wsss_tensor *loss = wsss_cross_entropy_smoothed(s->ctx, logits, target, s->smoothing);
    stats->loss = wsss_tensor_get(loss, 0);
    stats->n_aux = 1;
    stats->aux_name[0] = "train_top1";
    stats->aux[0] = (double)count_topk(logits, target, 1) / (double)b->n;
    int rc = wsss_backward(s->ctx, loss);
    wsss_ctx_reset(s->ctx);
    return rc;
}

/* ---- validation after every epoch (trainer epoch_end) ---- */

typedef struct pretrain_val {
    pretrain_net *net;
    wsss_loader *loader;
    wsss_ctx *ctx;
    int64_t epochs;
    int top;       /* 5, or K when there are fewer classes */
    int progress;
    double top1;   /* of the last pass */
} pretrain_val;

static int val_fn(void *user, wsss_trainer *t, wsss_trainer_stats *stats) {
    pretrain_val *v = user;
    const int64_t nb = wsss_loader_batches_per_epoch(v->loader);
    double loss_sum = 0;
    int64_t n = 0, hit1 = 0, hitk = 0;
    double t0 = wsss_now_seconds();
    for (int64_t i = 0; i < nb; i++) {
        const wsss_batch *b;
        if (wsss_loader_next(v->loader, &b) != WSSS_OK) return WSSS_ERR;
        wsss_ctx_reset(v->ctx);
        wsss_tensor *logits = net_forward(v->ctx, v->net, b->images, 0);
        wsss_tensor *target = targets_of(v->ctx, b->labels);
        loss_sum += wsss_tensor_get(wsss_cross_entropy2d(v->ctx, logits, target, -1), 0) * (double)b->n;
        hit1 += count_topk(logits, target, 1);
        hitk += count_topk(logits, target, v->top);
        n += b->n;
    }
    wsss_ctx_reset(v->ctx);
    v->top1 = (double)hit1 / (double)n;
    stats->n_aux = 3;
    stats->aux_name[0] = "val_loss";
    stats->aux[0] = loss_sum / (double)n;
    stats->aux_name[1] = "val_top1";
    stats->aux[1] = v->top1;
    stats->aux_name[2] = "val_top5"; /* top-K when there are K < 5 classes */
    stats->aux[2] = (double)hitk / (double)n;
    if (v->progress)
        fprintf(stderr, "%s" STAGE ": epoch %lld/%lld: train loss %.4f, val loss %.4f, top-1 %.4f, top-%d %.4f (%lld images, %.1f s)\n",
                isatty(2) ? "\r\033[K" : "", (long long)t->epoch + 1, (long long)v->epochs,
                t->epoch_steps ? t->epoch_loss_sum / (double)t->epoch_steps : NAN, stats->aux[0], v->top1, v->top,
                stats->aux[2], (long long)n, wsss_now_seconds() - t0);
    return WSSS_OK;
}

/* ---- the run ---- */

static void class_list(const wsss_image_folder *f, char *buf, size_t cap) {
    buf[0] = 0;
    for (int k = 0; k < f->num_classes; k++) {
        size_t len = strlen(buf);
        if (len + 8 >= cap) {
            snprintf(buf + len, cap - len, ", ...");
            return;
        }
        snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", f->class_names[k]);
    }
}

/* The val split as a dataset with the training split's class indices: every val class folder must
 * be a training class folder of the same name (a small val split may lack some classes). */
static int val_dataset(const wsss_image_folder *tf, const wsss_image_folder *vf, wsss_dataset **out) {
    const int nc = tf->num_classes + 1;
    char **names = wsss_xmalloc(sizeof(char *) * (size_t)nc);
    int *map = wsss_xmalloc(sizeof(int) * (size_t)vf->num_classes);
    names[0] = "background";
    for (int k = 0; k < tf->num_classes; k++) names[k + 1] = tf->class_names[k];
    int rc = WSSS_OK;
    for (int k = 0; k < vf->num_classes && rc == WSSS_OK; k++) {
        map[k] = -1;
        for (int j = 0; j < tf->num_classes; j++)
            if (strcmp(vf->class_names[k], tf->class_names[j]) == 0) map[k] = j + 1;
        if (map[k] < 0) {
            char list[512];
            class_list(tf, list, sizeof list);
            rc = wsss_error_set("%s/%s: no class folder of that name in %s (its classes: %s)", vf->dir,
                                vf->class_names[k], tf->dir, list);
        }
    }
    if (rc == WSSS_OK) rc = wsss_image_folder_to_dataset(vf, map, names, nc, out);
    free(map);
    free(names);
    return rc;
}

int wsss_pretrain_run(const wsss_pretrain_config *c, const char *resume_dir) {
    if (wsss_pretrain_config_check(c) != WSSS_OK) return WSSS_ERR;

    char *ckpt = wsss_pretrain_ckpt_dir(c);
    char *out = c->out ? wsss_xstrdup(c->out) : wsss_run_path(c->run, RUN_PRETRAIN_BACKBONE);
    char *logp = c->log ? wsss_xstrdup(c->log) : wsss_run_log_path(c->run, STAGE);
    wsss_image_folder *tf = NULL, *vf = NULL;
    wsss_dataset *tds = NULL, *vds = NULL;
    wsss_loader *tl = NULL, *vl = NULL;
    wsss_optim *opt = NULL;
    pretrain_net net;
    memset(&net, 0, sizeof net);
    char *cfg_json = NULL;
    int rc = WSSS_ERR;

    wsss_image_folder_opts fo;
    wsss_image_folder_opts_default(&fo);
    fo.skip_bad = c->skip_bad;
    if (wsss_image_folder_open(c->data, c->split, &fo, &tf) != WSSS_OK) goto done;
    if (tf->num_classes < 2) {
        wsss_error_set("%s: one class folder (%s): single-label training needs at least 2", tf->dir,
                       tf->class_names[0]);
        goto done;
    }
    if (!c->no_val) {
        if (wsss_image_folder_open(c->data, c->val_split, &fo, &vf) != WSSS_OK ||
            val_dataset(tf, vf, &vds) != WSSS_OK)
            goto done;
    }
    if (wsss_image_folder_to_dataset(tf, NULL, NULL, 0, &tds) != WSSS_OK) goto done;
    if (net_create(&net, c->arch, tf->num_classes) != WSSS_OK) goto done;
    net_reset(&net, c->seed);

    wsss_loader_opts lo;
    wsss_train_loader_opts(&lo, tds->n, c->batch, c->seed, c->workers, c->skip_bad);
    lo.load_masks = 0;
    wsss_train_loader_crop(&lo, c->size, c->rrc_min, c->hflip);
    if (wsss_train_check_bn_values(&net.m, &lo, tds->n, c->size, "--size") != WSSS_OK) goto done;
    if (wsss_loader_new(tds, &lo, &tl) != WSSS_OK) goto done;
    if (vds) {
        wsss_loader_opts vo;
        wsss_loader_opts_default(&vo);
        vo.batch_size = c->batch;
        vo.shuffle = 0;
        vo.workers = c->workers;
        vo.skip_bad = c->skip_bad;
        vo.load_masks = 0;
        vo.aug.resize_h = vo.aug.resize_w = c->size;
        if (wsss_loader_new(vds, &vo, &vl) != WSSS_OK) goto done;
    }

    opt = wsss_train_optim_new(c->optim, c->momentum, c->weight_decay, 1.0, &net.m.params);
    const int64_t spe = wsss_loader_batches_per_epoch(tl), total = (int64_t)c->epochs * spe;
    const wsss_lr_schedule sched = c->lr_policy == WSSS_LR_COSINE ? wsss_lr_cosine(c->lr, total) : wsss_lr_poly(c->lr, c->lr_power, total);

    cfg_json = wsss_cfg_to_json(&wsss_pretrain_config_table, c);
    char announce[512], written[1024];
    snprintf(announce, sizeof announce, STAGE ": %s, %lld images in %d classes (val: %lld), %d epochs x %lld steps (batch %d)",
             net.m.arch, (long long)tds->n, net.num_classes, vds ? (long long)vds->n : 0LL, c->epochs, (long long)spe,
             c->batch);
    snprintf(written, sizeof written, "backbone written to %s%s%s", out, c->head ? ", head to " : "",
             c->head ? c->head : "");
    pretrain_val val = {&net, vl, wsss_ctx_new(), c->epochs, net.num_classes < 5 ? net.num_classes : 5,
                        c->progress && wsss_dist_rank() == 0, NAN};
    wsss_ctx_set_blocked(val.ctx, 1); /* activations stay in oneDNN's layouts between its ops */
    wsss_ctx_set_grad_enabled(val.ctx, 0);
    pretrain_step st = {&net, c->label_smoothing, NULL};
    const pretrain_output po = {&net, tf, c->head};
    const wsss_train_loop loop = {
        .stage = STAGE, .ckpt_dir = ckpt, .resume_dir = resume_dir, .log_path = logp, .config_json = cfg_json,
        .epochs = c->epochs, .log_every = c->log_every, .progress = c->progress, .seed = c->seed, .sync_bn = c->sync_bn,
        .stop_after = c->stop_after, .announce = announce, .params = &net.m.params, .opt = opt, .sched = &sched,
        .loader = tl, .step = step_fn, .step_user = &st, .step_ctx = &st.ctx, .out = out, .save = save_output,
        .model = &po, .written = written, .epoch_end = vl ? val_fn : NULL, .epoch_user = vl ? &val : NULL};
    rc = wsss_train_loop_run(&loop);
    wsss_ctx_free(val.ctx);
done:
    wsss_loader_free(tl);
    wsss_loader_free(vl);
    if (opt) wsss_optim_free(opt);
    net_free(&net);
    wsss_dataset_free(tds);
    wsss_dataset_free(vds);
    wsss_image_folder_free(tf);
    wsss_image_folder_free(vf);
    free(cfg_json);
    free(ckpt);
    free(out);
    free(logp);
    return rc;
}
