/* Model start, optimizer, loader and the trainer run shared by the training stages
 * (train_common.h). */
#include "wsss/train_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/dist.h"
#include "wsss/fs.h"
#include "wsss/error.h"
#include "wsss/run_layout.h"
#include "trainer_dist.h"

const wsss_choice wsss_train_optim_choices[] = {{"sgd", WSSS_OPTIM_SGD}, {"adamw", WSSS_OPTIM_ADAMW}, {NULL, 0}};

int wsss_train_setting_error(const char *option, double value, const char *expected) {
    return wsss_error_set("--%s %g: out of range (expected %s)", option, value, expected);
}

int wsss_train_check_common(int epochs, int batch, double lr, double weight_decay, double momentum, double hflip) {
    if (epochs < 1) return wsss_train_setting_error("epochs", epochs, ">= 1");
    if (batch < 1) return wsss_train_setting_error("batch", batch, ">= 1");
    if (batch % wsss_dist_size())
        return wsss_error_set("--batch %d: the global batch must divide by the %d ranks (each takes an equal slice)",
                              batch, wsss_dist_size());
    if (!(lr > 0)) return wsss_train_setting_error("lr", lr, "> 0");
    if (!(weight_decay >= 0)) return wsss_train_setting_error("weight-decay", weight_decay, ">= 0");
    if (!(momentum >= 0 && momentum < 1)) return wsss_train_setting_error("momentum", momentum, "0 <= F < 1");
    if (!(hflip >= 0 && hflip <= 1)) return wsss_train_setting_error("flip", hflip, "0 <= P <= 1");
    return WSSS_OK;
}

int wsss_train_check_scales(double scale_min, double scale_max) {
    if (!(scale_min > 0 && scale_min <= 4)) return wsss_train_setting_error("scale-min", scale_min, "0 < F <= 4");
    if (!(scale_max >= scale_min && scale_max <= 4))
        return wsss_train_setting_error("scale-max", scale_max, "--scale-min <= F <= 4");
    return WSSS_OK;
}

int wsss_train_check_crop(int size, double rrc_min) {
    if (size < 8) return wsss_train_setting_error("size", size, ">= 8");
    if (!(rrc_min > 0 && rrc_min <= 1)) return wsss_train_setting_error("rrc-min", rrc_min, "0 < F <= 1");
    return WSSS_OK;
}

void wsss_train_loader_crop(wsss_loader_opts *lo, int size, double rrc_min, double hflip) {
    if (rrc_min < 1.0) {
        lo->aug.rrc_h = lo->aug.rrc_w = size;
        lo->aug.rrc_scale[0] = rrc_min;
        lo->aug.rrc_scale[1] = 1.0;
    } else {
        lo->aug.resize_h = lo->aug.resize_w = size;
    }
    lo->aug.hflip_p = hflip;
}

wsss_optim *wsss_train_optim_new(wsss_optim_kind kind, double momentum, double weight_decay, double head_mult,
                                 const wsss_params *model) {
    WSSS_ASSERT(kind == WSSS_OPTIM_SGD || kind == WSSS_OPTIM_ADAMW, "optimizer kind");
    const int adamw = kind == WSSS_OPTIM_ADAMW;
    const wsss_optim_group groups[4] = {
        {1.0, weight_decay}, {2.0, 0.0}, {head_mult, weight_decay}, {2.0 * head_mult, 0.0}};
    const wsss_optim_config oc = adamw ? wsss_optim_adamw_config() : wsss_optim_sgd_config(momentum, 0, 0);
    wsss_optim *opt = wsss_optim_new(&oc, 4, groups);
    wsss_optim_add_params(opt, model);
    return opt;
}

void wsss_train_loader_opts(wsss_loader_opts *lo, int64_t n_images, int batch, int seed, int workers, int skip_bad) {
    wsss_loader_opts_default(lo);
    lo->batch_size = batch;
    lo->drop_last = n_images >= batch; /* tiny datasets keep their one batch */
    lo->shuffle = 1;
    lo->seed = (uint64_t)seed;
    lo->workers = workers;
    lo->skip_bad = skip_bad;
    lo->shard_rank = wsss_dist_rank(); /* data-parallel: this rank's slice of every batch */
    lo->shard_count = wsss_dist_size();
}

int wsss_train_check_bn_values(const wsss_model *m, const wsss_loader_opts *lo, int64_t n_images, int side,
                               const char *side_option) {
    const int64_t b = lo->batch_size, rest = n_images % b;
    const int64_t smallest = n_images < b ? n_images : (lo->drop_last || rest == 0 ? b : rest);
    if (wsss_model_head_kind(m) == WSSS_HEAD_DEEPLABV3PLUS && smallest < 2)
        return wsss_error_set("%s trains the batch norm of its ASPP's image-pooling branch on a 1x1 map, so every "
                              "batch needs at least two images (PyTorch refuses one too): use --batch 2 or more%s",
                              m->arch, lo->drop_last ? "" : " and a training set that does not leave one image over");
    if (m->a.backbone != WSSS_BACKBONE_RESNET || m->resnet.cfg.frozen_bn) return WSSS_OK;
    const int64_t last = (side + m->a.output_stride - 1) / m->a.output_stride;
    if (smallest * last * last > 1) return WSSS_OK;
    return wsss_error_set("%s %d leaves %s a 1x1 last feature map (output stride %d), and a batch of one image then "
                          "gives batch norm a single value per channel to normalise in training (PyTorch refuses "
                          "this too): use a larger %s, more images per batch, or frozen BN",
                          side_option, side, m->arch, m->a.output_stride, side_option);
}

char *wsss_train_mask_dir(const char *given, const char *run, const char *option, const char *pseudo_args) {
    char *dir = given ? wsss_xstrdup(given) : wsss_run_path(run, WSSS_RUN_PSEUDO);
    char *abs = NULL;
    if (!wsss_path_is_dir(dir)) {
        if (given) wsss_error_set("%s: no such mask folder", dir);
        else wsss_error_set("%s: no such mask folder (run wsss pseudo%s first, or --%s DIR)", dir, pseudo_args, option);
    } else if (!(abs = realpath(dir, NULL))) {
        wsss_error_set("%s: cannot resolve the path (%s)", dir, strerror(errno));
    }
    free(dir);
    return abs;
}

int wsss_train_model_start(wsss_model *m, int seed, uint64_t stream, const char *backbone_weights,
                           const char *resume_dir) {
    wsss_rng init_rng;
    wsss_rng_seed3(&init_rng, (uint64_t)seed, stream, 0);
    wsss_model_reset_parameters(m, &init_rng);
    if (backbone_weights && !resume_dir) return wsss_model_load_backbone(m, backbone_weights);
    return WSSS_OK;
}

static int save_final(const wsss_train_loop *l, const wsss_trainer *tr) {
    wsss_remove_stale_tmp_files(l->out); /* left by a run killed while writing it */
    if (wsss_mkdirs_parent(l->out) != WSSS_OK || l->save(l->model, l->out) != WSSS_OK) return WSSS_ERR;
    if (l->progress) {
        const double rate = tr->seconds > 0 ? (double)tr->images / tr->seconds : 0.0;
        if (l->written) fprintf(stderr, "%s: %.1f images/s, %s\n", l->stage, rate, l->written);
        else fprintf(stderr, "%s: %.1f images/s, model written to %s\n", l->stage, rate, l->out);
    }
    return WSSS_OK;
}

int wsss_train_loop_run(const wsss_train_loop *l) {
    wsss_trainer_opts to;
    wsss_trainer_opts_default(&to);
    to.stage = l->stage;
    to.epochs = l->epochs;
    to.ckpt_dir = l->ckpt_dir;
    to.resume_dir = l->resume_dir;
    to.log_path = l->log_path;
    to.config = l->config_json;
    to.note = l->note;
    to.progress = l->progress && wsss_dist_rank() == 0;
    to.log_every = l->log_every;
    to.stop_after = l->stop_after;
    to.epoch_end = l->epoch_end;
    to.epoch_user = l->epoch_user;
    to.phase = l->phase;
    to.phase_user = l->phase_user;
    WSSS_ASSERT(l->n_extra >= 0 && l->n_extra < WSSS_TRAINER_MAX_PARTS, "train loop: too many networks");
    wsss_trainer_part parts[WSSS_TRAINER_MAX_PARTS];
    parts[0] = (wsss_trainer_part){
        .name = l->part_name ? l->part_name : "model", .params = l->params, .opt = l->opt, .sched = *l->sched};
    for (int i = 0; i < l->n_extra; i++) parts[1 + i] = l->extra[i];
    wsss_trainer tr;
    memset(&tr, 0, sizeof tr);
    int rc = wsss_trainer_init_parts(&tr, &to, 1 + l->n_extra, parts, l->loader, (uint64_t)l->seed);
    if (rc == WSSS_OK) {
        if (to.progress && l->announce) fprintf(stderr, "%s%s\n", l->announce, tr.resumed ? ", resumed" : "");
        *l->step_ctx = wsss_ctx_new();
        wsss_ctx_set_blocked(*l->step_ctx, 1); /* activations stay in oneDNN's layouts between its ops */
        wsss_ctx_set_sync_bn(*l->step_ctx, l->sync_bn);
        rc = wsss_trainer_run(&tr, l->step, l->step_user);
        wsss_ctx_free(*l->step_ctx);
        *l->step_ctx = NULL;
        if (rc == WSSS_OK) rc = wsss_dist_rank() == 0 ? save_final(l, &tr) : WSSS_OK;
        rc = wsss_trainer_dist_finish(rc); /* every rank ends with rank 0's result */
    }
    wsss_trainer_free(&tr);
    return rc;
}
