/* `wsss forward`: run a model built by name (include/wsss/models.h) in eval mode on the tensor
 * `input` of a safetensors file and write `output` (and with --features the map the classifier
 * reads, plus the CAM where the model has one). Meant for checking converted checkpoints against
 * PyTorch (scripts/pth_to_safetensors.py) and for tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/models.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

int cmd_forward(int argc, char **argv) {
    const char *arch = NULL, *weights = NULL, *input = NULL, *output = NULL, *input_name = "input";
    static const wsss_choice backends[] = {{"dnnl", WSSS_BACKEND_DNNL}, {"ref", WSSS_BACKEND_REF}, {NULL, 0}};
    wsss_backend backend = WSSS_BACKEND_DNNL;
    int num_classes = -1, features = 0;
    const cli_opt opts[] = {
        {"arch", CLI_STRING, &arch, "A", "model: resnet18|34|50|101|152[-os16|-os8][-largefov|-aspp], vgg16-deeplab[-largefov|-aspp]", .flags = CLI_REQUIRED},
        {"num-classes", CLI_INT, &num_classes, "C", "classes of the fc / CAM / segmentation head (-1: the arch's default: "
                                                    "resnet 1000, vgg16-deeplab 0 = no head, -largefov/-aspp 21)",
         .min = -1, .max = 100000},
        {"weights", CLI_STRING, &weights, "W", "safetensors state_dict with PyTorch key names (all tensors must match)", .flags = CLI_REQUIRED},
        {"input", CLI_STRING, &input, "X", "safetensors file holding an N,3,H,W float tensor", .flags = CLI_REQUIRED},
        {"input-name", CLI_STRING, &input_name, "NAME", "name of the input tensor in X", .flags = 0},
        {"output", CLI_STRING, &output, "Y", "safetensors file to write (\"output\", and with --features \"features\"/\"cam\")", .flags = CLI_REQUIRED},
        {"features", CLI_FLAG, &features, NULL, "also write \"features\" (the map the classifier reads) and \"cam\" where defined", .flags = 0},
        {"backend", CLI_CHOICE, &backend, "B", "dnnl | ref (plain C reference kernels)", .choices = backends},
    };
    const cli_spec spec = {
        "forward", NULL,
        "Run a model in eval mode on a tensor and write its output. output = fc logits N,C for resnetX (torchvision's "
        "output; the layer4 map if --num-classes 0); vgg16-deeplab: the conv5_3 map N,512,H/8,W/8, or with "
        "--num-classes C the MCIS CAM head's scores N,C (GAP of extra_last_conv); -largefov/-aspp: segmentation logits "
        "N,C,h,w at the feature resolution (keys backbone.*, classifier.*).",
        opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    const char *cmd = spec.command;
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    wsss_set_backend(backend);

    wsss_model m;
    if (wsss_model_create(&m, arch, num_classes, WSSS_F32)) return cli_fail(cmd, CLI_EXIT_FAILURE);
    if (wsss_model_load(&m, weights)) {
        wsss_model_free(&m);
        return cli_fail(cmd, CLI_EXIT_FAILURE);
    }

    wsss_safetensors *in;
    if (wsss_st_open(input, &in)) {
        wsss_model_free(&m);
        return cli_fail(cmd, CLI_EXIT_FAILURE);
    }
    int status = CLI_EXIT_FAILURE;
    wsss_tensor *x = NULL, *xf = NULL;
    wsss_ctx *ctx = NULL;
    char what[1200];
    snprintf(what, sizeof what, "%s: tensor \"%s\"", input, input_name);
    const wsss_st_entry *e = wsss_st_find(in, input_name);
    if (!e) {
        wsss_error_set("%s: no tensor named \"%s\" (use --input-name)", input, input_name);
        goto done;
    }
    if (e->dtype != WSSS_F32 && e->dtype != WSSS_F64) {
        wsss_error_set("%s: dtype %s, expected F32 (or F64)", what, wsss_dtype_name(e->dtype));
        goto done;
    }
    if (!(x = wsss_st_load(in, input_name))) goto done;
    if (x->dtype != WSSS_F32) {
        xf = wsss_tensor_to_dtype(x, WSSS_F32);
        wsss_tensor_free(x);
        x = xf;
        xf = NULL;
    }
    if (wsss_model_check_input(&m, x, what)) goto done;

    ctx = wsss_ctx_new();
    wsss_ctx_set_grad_enabled(ctx, 0);
    wsss_tensor *feat = NULL, *cam = NULL;
    wsss_tensor *y = wsss_model_forward(ctx, &m, x, 0, features ? &feat : NULL, features ? &cam : NULL);
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "output", y);
    if (features && feat) wsss_st_writer_add(w, "features", feat);
    if (features && cam) wsss_st_writer_add(w, "cam", cam);
    wsss_st_writer_meta(w, "arch", m.arch);
    wsss_st_writer_meta(w, "output", wsss_model_output_doc(&m));
    int wrc = wsss_st_writer_save(w, output);
    wsss_st_writer_free(w);
    if (wrc) goto done;
    char s[96];
    printf("%s: output %s = %s\n", output, wsss_shape_str(y, s, sizeof s), wsss_model_output_doc(&m));
    status = CLI_EXIT_OK;
done:
    if (status) cli_fail(cmd, status);
    if (ctx) wsss_ctx_free(ctx);
    wsss_tensor_free(x);
    wsss_st_close(in);
    wsss_model_free(&m);
    return status;
}
