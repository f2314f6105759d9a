/* AffinityNet on a zoo ResNet (affinity_net.h). */
#include "wsss/affinity_net.h"

#include <stdio.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/ops.h"
#include "wsss/random_walk.h"
#include "wsss/safetensors.h"

int wsss_affnet_build(wsss_affnet *a, const char *backbone, wsss_dtype dt) {
    memset(a, 0, sizeof *a);
    char arch[64];
    if (snprintf(arch, sizeof arch, "%s-os8", backbone) >= (int)sizeof arch)
        return wsss_error_set("affinity net: backbone name '%s' too long", backbone);
    wsss_arch parsed;
    if (wsss_arch_parse(arch, &parsed) != WSSS_OK) return WSSS_ERR;
    if (parsed.backbone != WSSS_BACKBONE_RESNET || parsed.seg_head != WSSS_HEAD_NONE)
        return wsss_error_set("affinity net: backbone '%s' is not a ResNet (resnet18 .. resnet152)", backbone);
    wsss_model_opts o = wsss_model_opts_default();
    o.num_classes = 0;
    o.dtype = dt;
    o.frozen_bn = 1;
    if (wsss_model_build(&a->net, &parsed, &o) != WSSS_OK) return WSSS_ERR;
    const int64_t *c = a->net.resnet.stage_channels;
    const int64_t in[3] = {c[1], c[2], c[3]};
    wsss_affnet_head_init(&a->head, &a->net.params, NULL, dt, in, wsss_affnet_psa_widths, WSSS_GROUP_NEW);
    snprintf(a->backbone, sizeof a->backbone, "%s", backbone); /* fits: the parse accepted it */
    return WSSS_OK;
}

void wsss_affnet_free(wsss_affnet *a) { wsss_model_free(&a->net); }

void wsss_affnet_reset_parameters(wsss_affnet *a, wsss_rng *rng) {
    wsss_model_reset_parameters(&a->net, rng);
    wsss_affnet_head_reset_parameters(&a->head, rng);
}

wsss_tensor *wsss_affnet_forward(wsss_ctx *ctx, wsss_affnet *a, wsss_tensor *x, int training) {
    WSSS_ASSERT(x->ndim == 4 && x->shape[2] % 8 == 0 && x->shape[3] % 8 == 0, "affinity net: N,3,H,W, H and W multiples of 8");
    wsss_tensor *stages[4];
    wsss_resnet_features(ctx, &a->net.resnet, x, training, stages);
    wsss_tensor *f = wsss_affnet_head_forward(ctx, &a->head, stages + 1);
    const int h = (int)f->shape[2], w = (int)f->shape[3];
    int dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS];
    wsss_rw_offsets(dy, dx);
    int y0, y1, x0, x1;
    wsss_rw_from_window(h, w, &y0, &y1, &x0, &x1);
    return wsss_pair_affinity(ctx, f, WSSS_RW_OFFSETS, dy, dx, y0, y1, x0, x1);
}

void wsss_affnet_freeze_early_layers(wsss_affnet *a) {
    wsss_params_set_trainable(&a->net.params, "conv1.", 0);
    wsss_params_set_trainable(&a->net.params, "layer1.", 0);
}

int wsss_affnet_save(const wsss_affnet *a, const char *labels, const char *path) {
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(&a->net.params, w, NULL, 1);
    wsss_st_writer_meta(w, "wsss_model", "affinity");
    wsss_st_writer_meta(w, "arch", a->backbone);
    if (labels) wsss_st_writer_meta(w, "labels", labels);
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    return rc;
}

int wsss_affnet_open(wsss_affnet *a, const char *path) {
    memset(a, 0, sizeof *a);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) return WSSS_ERR;
    const char *kind = wsss_st_meta(st, "wsss_model"), *arch = wsss_st_meta(st, "arch");
    char backbone[sizeof a->backbone] = "";
    const int ok = kind && strcmp(kind, "affinity") == 0 && arch && strlen(arch) < sizeof backbone;
    if (ok) snprintf(backbone, sizeof backbone, "%s", arch);
    wsss_st_close(st);
    if (!ok)
        return wsss_error_set("%s: not a wsss affinity model (expected metadata wsss_model=affinity and arch; write "
                              "it with wsss train-aff)",
                              path);
    if (wsss_affnet_build(a, backbone, WSSS_F32) != WSSS_OK) return wsss_error_prefix("%s", path);
    if (wsss_model_load(&a->net, path) != WSSS_OK) {
        wsss_affnet_free(a);
        return WSSS_ERR;
    }
    return WSSS_OK;
}
