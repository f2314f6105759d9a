/* safetensors files (https://github.com/huggingface/safetensors format): an 8-byte little-endian
 * header length, a JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
 * "__metadata__": {"k": "v"}}, then the data. Reading validates everything before any tensor is
 * touched; a malformed file is an error naming the file and the problem, never an out-of-bounds
 * read. Writing is atomic (temporary file + rename).
 *
 * A file format of the io layer, which sits below nn and optim (they save and load through it) and
 * depends only on the core (see fs.h). */
#ifndef WSSS_SAFETENSORS_H
#define WSSS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/tensor.h"

typedef struct wsss_st_entry {
    char *name;
    wsss_dtype dtype;
    int ndim;
    int64_t shape[WSSS_MAX_DIMS];
    size_t offset; /* byte offset inside the data section */
    size_t nbytes;
} wsss_st_entry;

typedef struct wsss_safetensors {
    char *path;
    int n_entries;
    wsss_st_entry *entries; /* in file order */
    int n_meta;
    char **meta_keys, **meta_values;
    const uint8_t *data; /* data section */
    size_t data_len;
    void *map; /* whole-file mapping or buffer */
    size_t map_len;
} wsss_safetensors;

/* Open and validate. Returns WSSS_OK or WSSS_ERR (message via wsss_error_msg, naming the file). */
int wsss_st_open(const char *path, wsss_safetensors **out);
/* The same from a whole file's bytes in memory (copied); name stands for the file in messages. */
int wsss_st_open_memory(const char *name, const void *data, size_t len, wsss_safetensors **out);
void wsss_st_close(wsss_safetensors *st);
const wsss_st_entry *wsss_st_find(const wsss_safetensors *st, const char *name);
const char *wsss_st_meta(const wsss_safetensors *st, const char *key); /* NULL if absent */
/* A persistent copy of a named tensor; NULL + error if missing. */
wsss_tensor *wsss_st_load(const wsss_safetensors *st, const char *name);
/* Load into an existing tensor, checking dtype and shape (error names file, tensor, both shapes). */
int wsss_st_load_into(const wsss_safetensors *st, const char *name, wsss_tensor *dst);
/* Like wsss_st_load_into but converts the file's dtype to dst's when the conversion keeps the kind of
 * value: float->float, integer->integer (every value must fit, else an error naming the value),
 * integer->float. float->integer is an error. Shapes must match. dst may be a strided view. */
int wsss_st_load_convert(const wsss_safetensors *st, const char *name, wsss_tensor *dst);
/* Nonzero if wsss_st_load_convert accepts file dtype `from` for a destination of dtype `to`. */
int wsss_st_dtype_convertible(wsss_dtype from, wsss_dtype to);
/* "[2, 3]" for an entry's shape into buf; returns buf. */
char *wsss_st_shape_str(const wsss_st_entry *e, char *buf, size_t n);

/* Writer: collects (name, tensor) pairs (tensors are referenced, not copied, until save). */
typedef struct wsss_st_writer wsss_st_writer;
wsss_st_writer *wsss_st_writer_new(void);
void wsss_st_writer_add(wsss_st_writer *w, const char *name, const wsss_tensor *t);
void wsss_st_writer_meta(wsss_st_writer *w, const char *key, const char *value);
int wsss_st_writer_save(wsss_st_writer *w, const char *path); /* atomic */
void wsss_st_writer_free(wsss_st_writer *w);

#endif
