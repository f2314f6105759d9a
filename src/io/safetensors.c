/* safetensors reader (strict, bounds-checked) and atomic writer.
 *
 * Format: u64 little-endian header length N, N bytes of JSON header, then the data section.
 * Header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ...}; offsets are relative to the data section. As in the
 * reference implementation, the data section must be covered exactly by the tensors (no holes,
 * no overlaps, nothing after the last tensor), which also rules out polyglot files. */
#include "wsss/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* same limit as the reference reader */
/* A tensor entry is ~12 JSON values; 1M values (~120 MB of DOM at worst) allows ~80k tensors per
 * file while keeping a hostile 100 MB header of "0,0,0,..." from costing gigabytes. */
#define ST_MAX_JSON_VALUES ((size_t)1000 * 1000)

/* ======================================================================== reading */

static int parse_dtype(const char *s, wsss_dtype *out) {
    static const char *const names[WSSS_DTYPE_COUNT] = {"F32", "F64", "U8", "I32", "I64"};
    for (int i = 0; i < WSSS_DTYPE_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (wsss_dtype)i;
            return 1;
        }
    return 0;
}

/* dtypes the format defines but wsss does not handle (distinguished for a clearer message) */
static int known_other_dtype(const char *s) {
    static const char *const others[] = {"F16", "BF16", "BOOL", "I8", "I16", "U16", "U32", "U64",
                                         "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                         "F4", "C64", "C128"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (strcmp(s, others[i]) == 0) return 1;
    return 0;
}

typedef struct {
    int idx;
    uint64_t begin, end;
} range;

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Non-negative integer literal member of an array, or error. */
static int get_u64(const wsss_json *v, uint64_t *out) {
    if (!v || v->type != WSSS_JSON_NUMBER || !v->is_int || v->ival < 0) return 0;
    *out = (uint64_t)v->ival;
    return 1;
}

static int parse_entry(wsss_safetensors *st, const char *name, const wsss_json *e, wsss_st_entry *out,
                       uint64_t *begin, uint64_t *end) {
    const char *path = st->path;
    if (e->type != WSSS_JSON_OBJECT)
        return wsss_error_set("%s: tensor \"%s\": header entry is a JSON %s (expected an object with "
                              "dtype, shape, data_offsets)",
                              path, name, wsss_json_type_name(e->type));
    for (int i = 0; i < e->n; i++) {
        const char *k = e->keys[i];
        if (strcmp(k, "dtype") != 0 && strcmp(k, "shape") != 0 && strcmp(k, "data_offsets") != 0)
            return wsss_error_set("%s: tensor \"%s\": unexpected member \"%s\" (expected only dtype, "
                                  "shape, data_offsets)",
                                  path, name, k);
    }
    const wsss_json *dt = wsss_json_get(e, "dtype"), *sh = wsss_json_get(e, "shape"),
                    *off = wsss_json_get(e, "data_offsets");
    if (!dt || !sh || !off)
        return wsss_error_set("%s: tensor \"%s\": missing member \"%s\" (expected dtype, shape, "
                              "data_offsets)",
                              path, name, !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (dt->type != WSSS_JSON_STRING)
        return wsss_error_set("%s: tensor \"%s\": dtype is a JSON %s (expected a string such as \"F32\")",
                              path, name, wsss_json_type_name(dt->type));
    if (!parse_dtype(dt->str, &out->dtype)) {
        if (known_other_dtype(dt->str))
            return wsss_error_set("%s: tensor \"%s\": unsupported dtype %s (expected F32, F64, U8, I32 or "
                                  "I64)",
                                  path, name, dt->str);
        return wsss_error_set("%s: tensor \"%s\": unknown dtype \"%s\" (expected F32, F64, U8, I32 or I64)",
                              path, name, dt->str);
    }
    if (sh->type != WSSS_JSON_ARRAY)
        return wsss_error_set("%s: tensor \"%s\": shape is a JSON %s (expected an array of non-negative "
                              "integers)",
                              path, name, wsss_json_type_name(sh->type));
    if (sh->n > WSSS_MAX_DIMS)
        return wsss_error_set("%s: tensor \"%s\": shape has %d dimensions (expected at most %d)", path, name,
                              sh->n, WSSS_MAX_DIMS);
    out->ndim = sh->n;
    /* The product of the non-zero dimensions must fit even when a zero makes the tensor empty:
     * strides are products of dimensions too, and an empty [0, 2^40, 2^40] would overflow them. */
    uint64_t nonzero = 1;
    int overflow = 0, empty = 0;
    for (int i = 0; i < sh->n; i++) {
        uint64_t d;
        if (!get_u64(sh->items[i], &d) || d > (uint64_t)INT64_MAX)
            return wsss_error_set("%s: tensor \"%s\": shape[%d] is not a non-negative integer (expected "
                                  "an array of non-negative integers)",
                                  path, name, i);
        out->shape[i] = (int64_t)d;
        if (d == 0) empty = 1;
        else if (nonzero > (uint64_t)INT64_MAX / d) overflow = 1;
        else nonzero *= d;
    }
    size_t esz = wsss_dtype_size(out->dtype);
    if (overflow || nonzero > (uint64_t)INT64_MAX / esz)
        return wsss_error_set("%s: tensor \"%s\": shape product overflows (expected the product of the "
                              "non-zero dimensions times the element size to fit in 63 bits)",
                              path, name);
    uint64_t want = empty ? 0 : nonzero * esz;
    if (off->type != WSSS_JSON_ARRAY || off->n != 2 || !get_u64(off->items[0], begin) ||
        !get_u64(off->items[1], end))
        return wsss_error_set("%s: tensor \"%s\": data_offsets is not [begin, end] (expected two "
                              "non-negative integers)",
                              path, name);
    if (*begin > *end)
        return wsss_error_set("%s: tensor \"%s\": data_offsets [%llu, %llu] has begin > end", path, name,
                              (unsigned long long)*begin, (unsigned long long)*end);
    if (*end > st->data_len)
        return wsss_error_set("%s: tensor \"%s\": data_offsets end %llu is past the data section of %zu "
                              "bytes (file truncated?)",
                              path, name, (unsigned long long)*end, st->data_len);
    if (*end - *begin != want)
        return wsss_error_set("%s: tensor \"%s\": data_offsets span %llu bytes but dtype %s x shape "
                              "needs %llu bytes",
                              path, name, (unsigned long long)(*end - *begin), dt->str,
                              (unsigned long long)want);
    out->offset = (size_t)*begin;
    out->nbytes = (size_t)want;
    return WSSS_OK;
}

static int parse_metadata(wsss_safetensors *st, const wsss_json *m) {
    if (m->type != WSSS_JSON_OBJECT)
        return wsss_error_set("%s: __metadata__ is a JSON %s (expected an object of string to string)",
                              st->path, wsss_json_type_name(m->type));
    st->meta_keys = wsss_xcalloc((size_t)m->n + 1, sizeof(char *));
    st->meta_values = wsss_xcalloc((size_t)m->n + 1, sizeof(char *));
    for (int i = 0; i < m->n; i++) {
        if (m->items[i]->type != WSSS_JSON_STRING)
            return wsss_error_set("%s: __metadata__ \"%s\" is a JSON %s (expected a string)", st->path,
                                  m->keys[i], wsss_json_type_name(m->items[i]->type));
        st->meta_keys[i] = wsss_xstrdup(m->keys[i]);
        st->meta_values[i] = wsss_xstrdup(m->items[i]->str);
        st->n_meta = i + 1;
    }
    return WSSS_OK;
}

static int parse_header(wsss_safetensors *st, const char *text, size_t len) {
    wsss_json *root = wsss_json_parse_limited(text, len, ST_MAX_JSON_VALUES);
    if (!root) return wsss_error_prefix("%s: invalid header", st->path);
    int rc = WSSS_ERR;
    range *ranges = NULL;
    if (root->type != WSSS_JSON_OBJECT) {
        wsss_error_set("%s: header is a JSON %s (expected an object)", st->path,
                       wsss_json_type_name(root->type));
        goto done;
    }
    st->entries = wsss_xcalloc((size_t)root->n + 1, sizeof(wsss_st_entry));
    ranges = wsss_xcalloc((size_t)root->n + 1, sizeof(range));
    int n = 0;
    for (int i = 0; i < root->n; i++) {
        const char *name = root->keys[i];
        if (strcmp(name, "__metadata__") == 0) {
            if (parse_metadata(st, root->items[i])) goto done;
            continue;
        }
        if (strlen(name) != root->key_lens[i]) {
            wsss_error_set("%s: tensor name contains a NUL character (\"%s...\")", st->path, name);
            goto done;
        }
        wsss_st_entry *e = &st->entries[n];
        if (parse_entry(st, name, root->items[i], e, &ranges[n].begin, &ranges[n].end)) goto done;
        e->name = wsss_xstrdup(name);
        ranges[n].idx = n;
        st->n_entries = ++n;
    }
    /* byte ranges must tile the data section exactly */
    qsort(ranges, (size_t)n, sizeof(range), cmp_range);
    uint64_t pos = 0;
    for (int k = 0; k < n; k++) {
        const char *nm = st->entries[ranges[k].idx].name;
        if (ranges[k].begin < pos) {
            wsss_error_set("%s: tensor \"%s\": data_offsets [%llu, %llu] overlap tensor \"%s\" (expected "
                           "disjoint byte ranges)",
                           st->path, nm, (unsigned long long)ranges[k].begin,
                           (unsigned long long)ranges[k].end, st->entries[ranges[k - 1].idx].name);
            goto done;
        }
        if (ranges[k].begin > pos) {
            wsss_error_set("%s: tensor \"%s\": data_offsets begin %llu leaves a gap after byte %llu of the "
                           "data section (expected tensors to cover it without holes)",
                           st->path, nm, (unsigned long long)ranges[k].begin, (unsigned long long)pos);
            goto done;
        }
        pos = ranges[k].end;
    }
    if (pos != st->data_len) {
        wsss_error_set("%s: data section has %zu bytes but the tensors cover %llu (expected them to match)",
                       st->path, st->data_len, (unsigned long long)pos);
        goto done;
    }
    rc = WSSS_OK;
done:
    free(ranges);
    wsss_json_free(root);
    return rc;
}

static int read_whole(const char *path, int fd, size_t size, void **buf) {
    *buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (*buf != MAP_FAILED) return 1; /* mapped */
    *buf = wsss_xmalloc(size);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, (char *)*buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(*buf);
            *buf = NULL;
            return wsss_error_set("%s: read failed: %s", path, r < 0 ? strerror(errno) : "unexpected EOF"),
                   -1;
        }
        got += (size_t)r;
    }
    return 0; /* malloc'd */
}

/* the public struct plus how its bytes were obtained (mmap or malloc) */
typedef struct {
    wsss_safetensors pub;
    int mapped;
} st_impl;

/* The header length from the first 8 bytes, checked against the file size (before anything large is
 * mapped or allocated). */
static int check_header_len(const char *path, const uint8_t lenb[8], uint64_t fsize, uint64_t *hlen_out) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenb[i];
    if (fsize == 8)
        return wsss_error_set("%s: file is only the 8-byte header length (expected a JSON header after it)",
                              path);
    if (hlen == 0 || hlen > fsize - 8 || hlen > ST_MAX_HEADER)
        return wsss_error_set("%s: header length %llu is invalid (expected 1..%llu for a file of %llu bytes, "
                              "at most 100 MB)",
                              path, (unsigned long long)hlen,
                              (unsigned long long)(fsize - 8 < ST_MAX_HEADER ? fsize - 8 : ST_MAX_HEADER),
                              (unsigned long long)fsize);
    *hlen_out = hlen;
    return WSSS_OK;
}

static int check_file_size(const char *path, uint64_t fsize) {
    if (fsize < 8)
        return wsss_error_set("%s: file is %llu bytes (expected at least 8: a safetensors header length)",
                              path, (unsigned long long)fsize);
    if (fsize > SIZE_MAX) return wsss_error_set("%s: file too large", path);
    return WSSS_OK;
}

/* Takes ownership of the whole file's bytes in buf (mapped or malloc'd) and validates them;
 * on failure everything is released. */
static int st_from_bytes(const char *path, void *buf, size_t size, int mapped, uint64_t hlen,
                         wsss_safetensors **out) {
    st_impl *impl = wsss_xcalloc(1, sizeof *impl);
    wsss_safetensors *st = &impl->pub;
    st->path = wsss_xstrdup(path);
    impl->mapped = mapped;
    st->map = buf;
    st->map_len = size;
    const uint8_t *b = buf;
    st->data = b + 8 + hlen;
    st->data_len = (size_t)(size - 8 - hlen);
    if (b[8] != '{') {
        wsss_error_set("%s: header does not start with '{' (expected a JSON object)", path);
        wsss_st_close(st);
        return WSSS_ERR;
    }
    if (parse_header(st, (const char *)b + 8, (size_t)hlen)) {
        wsss_st_close(st);
        return WSSS_ERR;
    }
    *out = st;
    return WSSS_OK;
}

int wsss_st_open(const char *path, wsss_safetensors **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return wsss_error_set("%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return wsss_error_set("%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return wsss_error_set("%s: not a regular file (expected a safetensors file)", path);
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (check_file_size(path, fsize) != WSSS_OK) {
        close(fd);
        return WSSS_ERR;
    }
    uint8_t lenb[8];
    ssize_t r;
    do r = pread(fd, lenb, 8, 0);
    while (r < 0 && errno == EINTR);
    if (r != 8) {
        int e = errno;
        close(fd);
        return wsss_error_set("%s: cannot read the header length: %s", path, r < 0 ? strerror(e) : "short read");
    }
    uint64_t hlen;
    if (check_header_len(path, lenb, fsize, &hlen) != WSSS_OK) {
        close(fd);
        return WSSS_ERR;
    }
    void *buf;
    int how = read_whole(path, fd, (size_t)fsize, &buf);
    close(fd);
    if (how < 0) return WSSS_ERR;
    return st_from_bytes(path, buf, (size_t)fsize, how, hlen, out);
}

int wsss_st_open_memory(const char *name, const void *data, size_t len, wsss_safetensors **out) {
    *out = NULL;
    uint64_t hlen;
    if (check_file_size(name, len) != WSSS_OK || check_header_len(name, data, len, &hlen) != WSSS_OK)
        return WSSS_ERR;
    void *copy = wsss_xmalloc(len);
    memcpy(copy, data, len);
    return st_from_bytes(name, copy, len, 0, hlen, out);
}

/* The n metadata strings of a file or a writer, and their two arrays. */
static void free_meta(char **keys, char **values, int n) {
    for (int i = 0; i < n; i++) {
        free(keys[i]);
        free(values[i]);
    }
    free(keys);
    free(values);
}

void wsss_st_close(wsss_safetensors *st) {
    if (!st) return;
    st_impl *impl = (st_impl *)st;
    for (int i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->entries);
    free_meta(st->meta_keys, st->meta_values, st->n_meta);
    if (st->map) {
        if (impl->mapped) munmap(st->map, st->map_len);
        else free(st->map);
    }
    free(st->path);
    free(impl);
}

const wsss_st_entry *wsss_st_find(const wsss_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_entries; i++)
        if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i];
    return NULL;
}

const char *wsss_st_meta(const wsss_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

wsss_tensor *wsss_st_load(const wsss_safetensors *st, const char *name) {
    const wsss_st_entry *e = wsss_st_find(st, name);
    if (!e) {
        wsss_error_set("%s: no tensor named \"%s\"", st->path, name);
        return NULL;
    }
    wsss_tensor *t = wsss_tensor_new(e->dtype, e->ndim, e->shape);
    if (e->nbytes) memcpy(t->data, st->data + e->offset, e->nbytes);
    return t;
}

char *wsss_st_shape_str(const wsss_st_entry *e, char *buf, size_t n) {
    size_t off = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < e->ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, i ? ", %lld" : "%lld", (long long)e->shape[i]);
    if (off < n) snprintf(buf + off, n - off, "]");
    return buf;
}

static int same_shape(const wsss_st_entry *e, const wsss_tensor *t) {
    if (e->ndim != t->ndim) return 0;
    for (int i = 0; i < e->ndim; i++)
        if (e->shape[i] != t->shape[i]) return 0;
    return 1;
}

/* Visit the elements of t in row-major logical order, calling fn with each element's address.
 * Byte-exact for every dtype (no round trip through double). */
static void for_each_elem(const wsss_tensor *t, void (*fn)(void *elem, int64_t i, void *arg), void *arg) {
    int64_t n = wsss_tensor_numel(t);
    if (n == 0) return;
    size_t esz = wsss_dtype_size(t->dtype);
    int64_t idx[WSSS_MAX_DIMS] = {0};
    char *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        fn(p, i, arg);
        for (int d = t->ndim - 1; d >= 0; d--) { /* odometer increment */
            p += t->stride[d] * (int64_t)esz;
            if (++idx[d] < t->shape[d]) break;
            p -= t->stride[d] * t->shape[d] * (int64_t)esz;
            idx[d] = 0;
        }
    }
}

typedef struct {
    char *buf;
    size_t esz;
} gather_arg;

static void gather_fn(void *elem, int64_t i, void *arg) {
    gather_arg *g = arg;
    memcpy(g->buf + (size_t)i * g->esz, elem, g->esz);
}

static void scatter_fn(void *elem, int64_t i, void *arg) {
    gather_arg *g = arg;
    memcpy(elem, g->buf + (size_t)i * g->esz, g->esz);
}

/* Contiguous bytes of t's logical contents into out (numel * esz bytes). */
static void gather_bytes(const wsss_tensor *t, void *out) {
    gather_arg g = {out, wsss_dtype_size(t->dtype)};
    for_each_elem(t, gather_fn, &g);
}

/* Contiguous bytes (t's dtype, row-major) into t (any strides). */
static void scatter_bytes(wsss_tensor *t, const void *src) {
    wsss_tensor_bump_version(t); /* weights cached in kernel layouts are stale now */
    if (wsss_tensor_is_contiguous(t)) {
        if (wsss_tensor_nbytes(t)) memcpy(t->data, src, wsss_tensor_nbytes(t));
        return;
    }
    gather_arg g = {(char *)src, wsss_dtype_size(t->dtype)};
    for_each_elem(t, scatter_fn, &g);
}

int wsss_st_load_into(const wsss_safetensors *st, const char *name, wsss_tensor *dst) {
    const wsss_st_entry *e = wsss_st_find(st, name);
    if (!e) return wsss_error_set("%s: no tensor named \"%s\"", st->path, name);
    char s1[96], s2[96];
    if (!same_shape(e, dst) || e->dtype != dst->dtype)
        return wsss_error_set("%s: tensor \"%s\" is %s %s (expected %s %s)", st->path, name,
                              wsss_dtype_name(e->dtype), wsss_st_shape_str(e, s1, sizeof s1),
                              wsss_dtype_name(dst->dtype), wsss_shape_str(dst, s2, sizeof s2));
    scatter_bytes(dst, st->data + e->offset);
    return WSSS_OK;
}

static int is_float(wsss_dtype d) { return d == WSSS_F32 || d == WSSS_F64; }

int wsss_st_dtype_convertible(wsss_dtype from, wsss_dtype to) {
    return from == to || is_float(to) || (!is_float(from) && !is_float(to));
}

/* unaligned little-endian element reads from the file */
static int64_t read_int(wsss_dtype dt, const uint8_t *p) {
    switch (dt) {
    case WSSS_U8: return p[0];
    case WSSS_I32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static double read_real(wsss_dtype dt, const uint8_t *p) {
    if (dt == WSSS_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    if (dt == WSSS_F64) {
        double d;
        memcpy(&d, p, 8);
        return d;
    }
    return (double)read_int(dt, p);
}

int wsss_st_load_convert(const wsss_safetensors *st, const char *name, wsss_tensor *dst) {
    const wsss_st_entry *e = wsss_st_find(st, name);
    if (!e) return wsss_error_set("%s: no tensor named \"%s\"", st->path, name);
    if (e->dtype == dst->dtype) return wsss_st_load_into(st, name, dst);
    char s1[96], s2[96];
    if (!same_shape(e, dst))
        return wsss_error_set("%s: tensor \"%s\" has shape %s (expected %s)", st->path, name,
                              wsss_st_shape_str(e, s1, sizeof s1), wsss_shape_str(dst, s2, sizeof s2));
    if (!wsss_st_dtype_convertible(e->dtype, dst->dtype))
        return wsss_error_set("%s: tensor \"%s\" is %s (expected %s; float to integer is not converted)",
                              st->path, name, wsss_dtype_name(e->dtype), wsss_dtype_name(dst->dtype));
    int64_t n = wsss_tensor_numel(dst);
    size_t fes = wsss_dtype_size(e->dtype), tes = wsss_dtype_size(dst->dtype);
    uint8_t *tmp = wsss_xmalloc((size_t)n * tes);
    const uint8_t *src = st->data + e->offset;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = src + (size_t)i * fes;
        uint8_t *q = tmp + (size_t)i * tes;
        if (dst->dtype == WSSS_F32) {
            float f = (float)read_real(e->dtype, p);
            memcpy(q, &f, 4);
        } else if (dst->dtype == WSSS_F64) {
            double d = read_real(e->dtype, p);
            memcpy(q, &d, 8);
        } else {
            int64_t v = read_int(e->dtype, p);
            int64_t lo = dst->dtype == WSSS_U8 ? 0 : dst->dtype == WSSS_I32 ? INT32_MIN : INT64_MIN;
            int64_t hi = dst->dtype == WSSS_U8 ? 255 : dst->dtype == WSSS_I32 ? INT32_MAX : INT64_MAX;
            if (v < lo || v > hi) {
                free(tmp);
                return wsss_error_set("%s: tensor \"%s\": value %lld at index %lld does not fit in %s",
                                      st->path, name, (long long)v, (long long)i,
                                      wsss_dtype_name(dst->dtype));
            }
            if (dst->dtype == WSSS_U8) q[0] = (uint8_t)v;
            else if (dst->dtype == WSSS_I32) {
                int32_t w = (int32_t)v;
                memcpy(q, &w, 4);
            } else memcpy(q, &v, 8);
        }
    }
    scatter_bytes(dst, tmp);
    free(tmp);
    return WSSS_OK;
}

/* ======================================================================== writing */

typedef struct {
    char *name;
    const wsss_tensor *t;
} w_item;

struct wsss_st_writer {
    int n, cap;
    w_item *items;
    int n_meta, cap_meta;
    char **mk, **mv;
};

wsss_st_writer *wsss_st_writer_new(void) { return wsss_xcalloc(1, sizeof(wsss_st_writer)); }

void wsss_st_writer_add(wsss_st_writer *w, const char *name, const wsss_tensor *t) {
    WSSS_ASSERT(t && name, "null tensor or name");
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->items = wsss_xrealloc(w->items, sizeof(w_item) * (size_t)w->cap);
    }
    w->items[w->n].name = wsss_xstrdup(name);
    w->items[w->n].t = t;
    w->n++;
}

void wsss_st_writer_meta(wsss_st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->mk[i], key) == 0) { /* later value wins */
            free(w->mv[i]);
            w->mv[i] = wsss_xstrdup(value);
            return;
        }
    if (w->n_meta == w->cap_meta) {
        w->cap_meta = w->cap_meta ? w->cap_meta * 2 : 8;
        w->mk = wsss_xrealloc(w->mk, sizeof(char *) * (size_t)w->cap_meta);
        w->mv = wsss_xrealloc(w->mv, sizeof(char *) * (size_t)w->cap_meta);
    }
    w->mk[w->n_meta] = wsss_xstrdup(key);
    w->mv[w->n_meta] = wsss_xstrdup(value);
    w->n_meta++;
}

void wsss_st_writer_free(wsss_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->items[i].name);
    free(w->items);
    free_meta(w->mk, w->mv, w->n_meta);
    free(w);
}

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const w_item *)a)->name, ((const w_item *)b)->name);
}

int wsss_st_writer_save(wsss_st_writer *w, const char *path) {
    /* sorted by name, like the reference writers; duplicates are a caller error worth reporting */
    w_item *items = wsss_xmalloc(sizeof(w_item) * (size_t)(w->n ? w->n : 1));
    if (w->n) memcpy(items, w->items, sizeof(w_item) * (size_t)w->n);
    qsort(items, (size_t)w->n, sizeof(w_item), cmp_item);
    for (int i = 0; i < w->n; i++) {
        if ((i > 0 && strcmp(items[i].name, items[i - 1].name) == 0) ||
            strcmp(items[i].name, "__metadata__") == 0) {
            wsss_error_set("%s: cannot write: %s tensor name \"%s\"", path,
                           strcmp(items[i].name, "__metadata__") == 0 ? "reserved" : "duplicate",
                           items[i].name);
            free(items);
            return WSSS_ERR;
        }
    }
    /* header */
    wsss_jw jw;
    wsss_jw_init(&jw, 0);
    wsss_jw_obj_begin(&jw);
    if (w->n_meta) {
        wsss_jw_key(&jw, "__metadata__");
        wsss_jw_obj_begin(&jw);
        for (int i = 0; i < w->n_meta; i++) wsss_jw_kv_string(&jw, w->mk[i], w->mv[i]);
        wsss_jw_obj_end(&jw);
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const wsss_tensor *t = items[i].t;
        wsss_jw_key(&jw, items[i].name);
        wsss_jw_obj_begin(&jw);
        wsss_jw_kv_string(&jw, "dtype", wsss_dtype_name(t->dtype));
        wsss_jw_key(&jw, "shape");
        wsss_jw_arr_begin(&jw);
        for (int d = 0; d < t->ndim; d++) wsss_jw_int(&jw, t->shape[d]);
        wsss_jw_arr_end(&jw);
        uint64_t nb = (uint64_t)wsss_tensor_numel(t) * wsss_dtype_size(t->dtype);
        wsss_jw_key(&jw, "data_offsets");
        wsss_jw_arr_begin(&jw);
        wsss_jw_int(&jw, (int64_t)off);
        wsss_jw_int(&jw, (int64_t)(off + nb));
        wsss_jw_arr_end(&jw);
        wsss_jw_obj_end(&jw);
        off += nb;
    }
    wsss_jw_obj_end(&jw);
    while (jw.len % 8) wsss_jw_append(&jw, " ", 1); /* keeps the data section 8-byte aligned */

    wsss_atomic_file f;
    if (wsss_atomic_file_open(&f, path) != WSSS_OK) {
        free(items);
        wsss_jw_free(&jw);
        return WSSS_ERR;
    }
    uint8_t lenb[8];
    uint64_t hl = jw.len;
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(hl >> (8 * i));
    wsss_atomic_file_write(&f, lenb, 8);
    wsss_atomic_file_write(&f, jw.buf, jw.len);
    for (int i = 0; !f.err && i < w->n; i++) {
        const wsss_tensor *t = items[i].t;
        size_t nb = (size_t)wsss_tensor_numel(t) * wsss_dtype_size(t->dtype);
        if (!nb) continue;
        if (wsss_tensor_is_contiguous(t)) {
            wsss_atomic_file_write(&f, t->data, nb);
        } else { /* a view: write its logical (row-major) contents */
            void *c = wsss_xmalloc(nb);
            gather_bytes(t, c);
            wsss_atomic_file_write(&f, c, nb);
            free(c);
        }
    }
    free(items);
    wsss_jw_free(&jw);
    return wsss_atomic_file_commit(&f, 1);
}
