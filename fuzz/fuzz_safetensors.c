/* libFuzzer harness: the safetensors reader (model weights, checkpoints, CAM files). Whatever
 * opens must load: every tensor as stored and, where a conversion is allowed, as another dtype. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/safetensors.h"
#include "wsss/tensor.h"

static void load_entry(const wsss_safetensors *st, const wsss_st_entry *e) {
    if (wsss_st_find(st, e->name) != e) abort(); /* names are unique (duplicate keys are refused) */
    char shape[128];
    wsss_st_shape_str(e, shape, sizeof shape);
    wsss_tensor *t = wsss_st_load(st, e->name);
    if (!t) abort();
    if (wsss_tensor_nbytes(t) != e->nbytes || (e->nbytes && memcmp(t->data, st->data + e->offset, e->nbytes) != 0))
        abort();
    if (wsss_st_load_into(st, e->name, t) != WSSS_OK) abort();
    for (int to = 0; to < WSSS_DTYPE_COUNT; to++) {
        if (to == (int)e->dtype) continue;
        wsss_tensor *c = wsss_tensor_new((wsss_dtype)to, e->ndim, e->shape);
        int rc = wsss_st_load_convert(st, e->name, c);
        if (rc == WSSS_OK && !wsss_st_dtype_convertible(e->dtype, (wsss_dtype)to)) abort();
        wsss_tensor_free(c);
    }
    wsss_tensor_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wsss_safetensors *st = NULL;
    if (wsss_st_open_memory("fuzz.safetensors", data, size, &st) == WSSS_OK) {
        for (int i = 0; i < st->n_entries; i++) load_entry(st, &st->entries[i]);
        for (int i = 0; i < st->n_meta; i++)
            if (wsss_st_meta(st, st->meta_keys[i]) == NULL) abort();
        if (wsss_st_load(st, "no such tensor") != NULL) abort();
        wsss_st_close(st);
    } else if (st) {
        abort(); /* a failed open hands back nothing */
    }
    wsss_error_clear();
    return 0;
}
