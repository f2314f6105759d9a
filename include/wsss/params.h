/* Parameter registry: an ordered collection of a model's named persistent tensors, with names equal
 * to PyTorch state_dict keys ("backbone.layer1.0.conv1.weight", "bn1.running_mean", ...).
 *
 *  - parameters: trained (requires_grad = 1 unless frozen), each with an optimizer group index
 *    (just an int the optimizer maps to a group, e.g. 0 backbone weights, 1 backbone biases,
 *    2 new-layer weights, 3 new-layer biases);
 *  - buffers: saved but not trained (running_mean/var F32, num_batches_tracked I64).
 *
 * Saving/loading uses safetensors with exactly these names, so files convert 1:1 from/to a PyTorch
 * state_dict (see scripts/st_io.py). */
#ifndef WSSS_PARAMS_H
#define WSSS_PARAMS_H

#include "wsss/safetensors.h"
#include "wsss/tensor.h"

typedef enum { WSSS_KIND_PARAM = 0, WSSS_KIND_BUFFER = 1 } wsss_param_kind;

typedef struct wsss_param {
    wsss_tensor *t;       /* persistent; t->name is the state_dict key; owned by the registry */
    wsss_param_kind kind;
    int group;            /* optimizer group for parameters; -1 for buffers */
} wsss_param;

typedef struct wsss_params {
    int n, cap;
    wsss_param *items; /* in registration order (= state_dict order) */
} wsss_params;

void wsss_params_init(wsss_params *ps);
void wsss_params_free(wsss_params *ps); /* frees every tensor (and its grad) */

/* New zero-filled tensor registered under name (a duplicate name is a programmer error).
 * Parameters get requires_grad = 1. The registry owns the tensor. */
wsss_tensor *wsss_params_add_param(wsss_params *ps, const char *name, wsss_dtype dt, int ndim,
                                   const int64_t *shape, int group);
wsss_tensor *wsss_params_add_buffer(wsss_params *ps, const char *name, wsss_dtype dt, int ndim,
                                    const int64_t *shape);

wsss_tensor *wsss_params_find(const wsss_params *ps, const char *name);     /* NULL if absent */
const wsss_param *wsss_params_find_entry(const wsss_params *ps, const char *name);
int wsss_params_count(const wsss_params *ps);
const wsss_param *wsss_params_at(const wsss_params *ps, int i);
/* Number of scalar values: all parameters (trainable_only = 0) or only those with requires_grad. */
int64_t wsss_params_numel(const wsss_params *ps, int trainable_only);

/* Gradients of all parameters: drop = 0 zero-fills existing grad tensors, drop = 1 frees them
 * (the next backward allocates fresh ones). */
void wsss_params_zero_grad(wsss_params *ps, int drop);
/* Freeze (on = 0) or unfreeze (on = 1) every parameter whose name starts with prefix ("" = all).
 * Buffers are unaffected. Returns the number of parameters matched. */
int wsss_params_set_trainable(wsss_params *ps, const char *prefix, int on);

/* ---- safetensors ---- */
/* Add the registry's tensors (parameters, plus buffers if with_buffers) to a writer under
 * prefix + name (prefix may be NULL), e.g. for a checkpoint that also holds optimizer state. */
void wsss_params_to_writer(const wsss_params *ps, wsss_st_writer *w, const char *prefix, int with_buffers);
int wsss_params_save_safetensors(const wsss_params *ps, const char *path, int with_buffers);

typedef struct wsss_params_load_opts {
    /* strict: every registry entry in scope must be in the file with the same shape, and every
     * file tensor must be used; otherwise nothing is loaded and WSSS_ERR lists ALL problems.
     * non-strict: entries that match are loaded, the rest are listed in *report. */
    int strict;
    /* Only registry names starting with prefix are in scope, and the file holds them without the
     * prefix (e.g. prefix "backbone." loads an ImageNet resnet file into "backbone.*"). NULL = "". */
    const char *prefix;
    int skip_buffers; /* buffers are out of scope (neither expected nor loaded) */
    /* file tensors whose name starts with one of these are ignored (not "unexpected"), e.g. "fc."
     * for an ImageNet classifier head; NULL-terminated list or NULL */
    const char *const *ignore_file_prefixes;
} wsss_params_load_opts;

/* Load from an opened file. report (may be NULL) receives a malloc'd multi-line description of
 * missing / unexpected / shape-mismatched / dtype-incompatible names, or NULL if there are none.
 * dtype conversion: a file tensor of another dtype is converted when lossless in kind (float to
 * float, integer to integer with range check, integer to float); float to integer is a mismatch. */
int wsss_params_load_st(wsss_params *ps, const wsss_safetensors *st, const wsss_params_load_opts *opts,
                        char **report);
/* Open path and load (prefix "", buffers included). */
int wsss_params_load_safetensors(wsss_params *ps, const char *path, int strict, char **report);

#endif
