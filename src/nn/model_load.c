/* Weights into a zoo model (models.h): the whole state_dict, or only the backbone's tensors (the
 * zoo records which they are), both strict and tolerant of the num_batches_tracked buffers old
 * torchvision files lack. */
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/models.h"

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Strict load of the first n registry entries. A num_batches_tracked buffer the file lacks
 * (under its name minus `strip`) is left out of the load and zeroed after a success, as PyTorch's
 * BatchNorm accepts such files too. Nothing is loaded on error. */
static int load_first(wsss_model *m, const wsss_safetensors *st, int n, const char *strip,
                      const wsss_params_load_opts *o) {
    wsss_params view = m->params; /* a view: the tensors stay owned by m->params */
    view.items = wsss_xmalloc(sizeof(wsss_param) * (size_t)(n + 1));
    view.n = 0;
    wsss_tensor **absent = wsss_xmalloc(sizeof(wsss_tensor *) * (size_t)(n + 1));
    int n_absent = 0;
    const size_t k = strlen(strip);
    for (int i = 0; i < n; i++) {
        const wsss_param *p = &m->params.items[i];
        const char *name = p->t->name;
        if (p->kind == WSSS_KIND_BUFFER && ends_with(name, ".num_batches_tracked") &&
            !wsss_st_find(st, strncmp(name, strip, k) == 0 ? name + k : name)) {
            absent[n_absent++] = p->t;
            continue;
        }
        view.items[view.n++] = *p;
    }
    int rc = wsss_params_load_st(&view, st, o, NULL);
    if (rc == WSSS_OK)
        for (int i = 0; i < n_absent; i++) wsss_tensor_fill(absent[i], 0.0);
    free(view.items);
    free(absent);
    return rc;
}

int wsss_model_load(wsss_model *m, const char *path) {
    wsss_safetensors *st;
    if (wsss_st_open(path, &st)) return WSSS_ERR;
    wsss_params_load_opts o = {0};
    o.strict = 1;
    int rc = load_first(m, st, m->params.n, "", &o);
    wsss_st_close(st);
    if (rc) wsss_error_prefix("model %s", m->arch);
    return rc;
}

int wsss_model_load_backbone(wsss_model *m, const char *path) {
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) return WSSS_ERR;
    /* the file names the backbone as torchvision does, or under the model's prefix (a file of a
     * model of the same form, e.g. another segmenter) */
    const char *prefix = m->backbone_prefix;
    int prefixed = 0;
    for (int i = 0; prefix[0] && i < st->n_entries && !prefixed; i++)
        prefixed = strncmp(st->entries[i].name, prefix, strlen(prefix)) == 0;
    /* the heads a file may carry besides the backbone (an ImageNet fc, a wsss classifier's head) */
    const char *ignore[16];
    int n_ignore = 0;
    for (int h = 0; wsss_head_kinds[h]; h++)
        for (const char *const *name = wsss_head_kinds[h]->tensor_names; *name; name++) {
            WSSS_ASSERT(n_ignore < 15, "room for every head's tensor names");
            ignore[n_ignore++] = *name;
        }
    ignore[n_ignore] = NULL;
    wsss_params_load_opts o = {0};
    o.strict = 1;
    o.prefix = prefixed ? "" : prefix;
    o.ignore_file_prefixes = ignore;
    int rc = load_first(m, st, m->n_backbone, o.prefix, &o);
    wsss_st_close(st);
    if (rc != WSSS_OK) wsss_error_prefix("backbone weights for %s", m->arch);
    return rc;
}
