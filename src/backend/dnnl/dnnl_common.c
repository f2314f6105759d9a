#include "backend/dnnl/dnnl_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "wsss/error.h"

/* ---------------- errors ---------------- */

const char *wsss_dnnl_status_name(dnnl_status_t st) { return dnnl_status2str(st); }

void wsss_dnnl_fail(const char *call, dnnl_status_t st, const char *file, int line) {
    fprintf(stderr, "wsss: oneDNN call failed at %s:%d: %s -> %s (%d)\n", file, line, call,
            wsss_dnnl_status_name(st), (int)st);
    abort();
}

/* ---------------- engine, stream, attr ---------------- */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_primitive_attr_t g_attr;

static void init_once(void) {
    DNNL_CHECK(dnnl_engine_create(&g_engine, dnnl_cpu, 0));
    DNNL_CHECK(dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags));
    DNNL_CHECK(dnnl_primitive_attr_create(&g_attr));
    DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(g_attr, dnnl_scratchpad_mode_user));
}

dnnl_engine_t wsss_dnnl_engine(void) {
    pthread_once(&g_once, init_once);
    return g_engine;
}

dnnl_stream_t wsss_dnnl_stream(void) {
    pthread_once(&g_once, init_once);
    return g_stream;
}

const_dnnl_primitive_attr_t wsss_dnnl_attr(void) {
    pthread_once(&g_once, init_once);
    return g_attr;
}

/* ---------------- memory descriptors ---------------- */

static void to_dims(dnnl_dims_t d, int ndims, const int64_t *v) {
    WSSS_ASSERT(ndims >= 1 && ndims <= DNNL_MAX_NDIMS, "oneDNN memory needs 1..12 dims");
    memset(d, 0, sizeof(dnnl_dims_t));
    for (int i = 0; i < ndims; i++) d[i] = v[i];
}

void wsss_dnnl_md_tag(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag) {
    dnnl_dims_t d;
    to_dims(d, ndims, dims);
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag));
}

void wsss_dnnl_md_strides(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                          const int64_t *strides) {
    dnnl_dims_t d, s;
    to_dims(d, ndims, dims);
    to_dims(s, ndims, strides);
    DNNL_CHECK(dnnl_memory_desc_init_by_strides(md, ndims, d, dnnl_f32, s));
}

void wsss_dnnl_md_any(dnnl_memory_desc_t *md, int ndims, const int64_t *dims) {
    wsss_dnnl_md_tag(md, ndims, dims, dnnl_format_tag_any);
}

void wsss_dnnl_md_from_tensor(dnnl_memory_desc_t *md, const wsss_tensor *t) {
    WSSS_ASSERT(t->dtype == WSSS_F32, "oneDNN kernels take F32 tensors");
    int64_t strides[WSSS_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) {
        WSSS_ASSERT(t->stride[i] >= 0, "oneDNN memory cannot describe negative strides");
        /* size-1 dims may carry any stride; give them a harmless one */
        strides[i] = t->shape[i] == 1 ? 1 : t->stride[i];
    }
    if (wsss_tensor_is_contiguous(t)) {
        wsss_contiguous_strides(t->ndim, t->shape, strides);
    }
    wsss_dnnl_md_strides(md, t->ndim, t->shape, strides);
}

int wsss_dnnl_md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b) {
    return dnnl_memory_desc_equal(a, b) != 0;
}

size_t wsss_dnnl_md_bytes(const dnnl_memory_desc_t *md) { return dnnl_memory_desc_get_size(md); }

int wsss_dnnl_md_is_zero(const dnnl_memory_desc_t *md) { return md == NULL || md->ndims == 0; }

/* ---------------- memory objects ---------------- */

dnnl_memory_t wsss_dnnl_mem_wrap(const dnnl_memory_desc_t *md, const void *ptr) {
    dnnl_memory_t m;
    /* oneDNN's handle is non-const; inputs are only read by the primitives we pass them to */
    DNNL_CHECK(dnnl_memory_create(&m, md, wsss_dnnl_engine(), (void *)ptr));
    return m;
}

dnnl_memory_t wsss_dnnl_mem_alloc(const dnnl_memory_desc_t *md) {
    dnnl_memory_t m;
    DNNL_CHECK(dnnl_memory_create(&m, md, wsss_dnnl_engine(), DNNL_MEMORY_ALLOCATE));
    return m;
}

void wsss_dnnl_mem_free(dnnl_memory_t m) {
    if (m) DNNL_CHECK(dnnl_memory_destroy(m));
}

void *wsss_dnnl_mem_ptr(dnnl_memory_t m) {
    void *p = NULL;
    DNNL_CHECK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

/* ---------------- keys ---------------- */

void wsss_dnnl_key_init(wsss_dnnl_key *k, const char *op) {
    k->len = 0;
    wsss_dnnl_key_add(k, op, strlen(op) + 1);
}

void wsss_dnnl_key_add(wsss_dnnl_key *k, const void *p, size_t n) {
    WSSS_ASSERT(k->len + n <= WSSS_DNNL_KEY_MAX, "oneDNN cache key too long");
    memcpy(k->bytes + k->len, p, n);
    k->len += n;
}

void wsss_dnnl_key_i64(wsss_dnnl_key *k, int64_t v) { wsss_dnnl_key_add(k, &v, sizeof v); }

void wsss_dnnl_key_i64s(wsss_dnnl_key *k, int n, const int64_t *v) {
    wsss_dnnl_key_i64(k, n);
    for (int i = 0; i < n; i++) wsss_dnnl_key_i64(k, v[i]);
}

void wsss_dnnl_key_ints(wsss_dnnl_key *k, int n, const int *v) {
    wsss_dnnl_key_i64(k, n);
    for (int i = 0; i < n; i++) wsss_dnnl_key_i64(k, v[i]);
}

void wsss_dnnl_key_f64(wsss_dnnl_key *k, double v) { wsss_dnnl_key_add(k, &v, sizeof v); }

void wsss_dnnl_key_md(wsss_dnnl_key *k, const dnnl_memory_desc_t *md) {
    int nd = md->ndims;
    wsss_dnnl_key_i64(k, nd);
    if (nd == 0) return;
    for (int i = 0; i < nd; i++) {
        wsss_dnnl_key_i64(k, md->dims[i]);
        wsss_dnnl_key_i64(k, md->padded_dims[i]);
        wsss_dnnl_key_i64(k, md->padded_offsets[i]);
    }
    wsss_dnnl_key_i64(k, md->data_type);
    wsss_dnnl_key_i64(k, md->offset0);
    wsss_dnnl_key_i64(k, md->format_kind);
    wsss_dnnl_key_i64(k, (int64_t)md->extra.flags);
    if (md->format_kind == dnnl_blocked) {
        const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
        for (int i = 0; i < nd; i++) wsss_dnnl_key_i64(k, b->strides[i]);
        wsss_dnnl_key_i64(k, b->inner_nblks);
        for (int i = 0; i < b->inner_nblks; i++) {
            wsss_dnnl_key_i64(k, b->inner_blks[i]);
            wsss_dnnl_key_i64(k, b->inner_idxs[i]);
        }
    } else if (md->format_kind != dnnl_format_kind_any) {
        /* opaque/special formats only ever come from oneDNN itself (copied whole) */
        wsss_dnnl_key_add(k, &md->format_desc, sizeof md->format_desc);
    }
}

/* ---------------- primitive cache ---------------- */

#define N_BUCKETS 1024 /* power of two */

typedef struct cache_entry {
    int used;
    uint64_t hash;
    uint64_t tick; /* last use, for LRU eviction */
    size_t key_len;
    uint8_t *key;
    int next; /* chain in bucket, -1 ends */
    wsss_dnnl_prim p;
} cache_entry;

static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static cache_entry g_entries[WSSS_DNNL_CACHE_CAP];
static int g_buckets[N_BUCKETS];
static int g_buckets_ready;
static size_t g_n_entries;
static uint64_t g_tick, g_hits, g_misses;

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void buckets_init(void) {
    if (g_buckets_ready) return;
    for (int i = 0; i < N_BUCKETS; i++) g_buckets[i] = -1;
    g_buckets_ready = 1;
}

static int find_locked(uint64_t h, const wsss_dnnl_key *k) {
    for (int i = g_buckets[h & (N_BUCKETS - 1)]; i >= 0; i = g_entries[i].next) {
        cache_entry *e = &g_entries[i];
        if (e->hash == h && e->key_len == k->len && memcmp(e->key, k->bytes, k->len) == 0) return i;
    }
    return -1;
}

static void entry_destroy_locked(int idx) {
    cache_entry *e = &g_entries[idx];
    int *pp = &g_buckets[e->hash & (N_BUCKETS - 1)];
    while (*pp != idx) pp = &g_entries[*pp].next;
    *pp = e->next;
    DNNL_CHECK(dnnl_primitive_destroy(e->p.prim));
    DNNL_CHECK(dnnl_primitive_desc_destroy(e->p.pd));
    free(e->key);
    memset(e, 0, sizeof *e);
    g_n_entries--;
}

const wsss_dnnl_prim *wsss_dnnl_cache_get(const wsss_dnnl_key *key, wsss_dnnl_make_pd_fn make_pd,
                                          const void *arg, dnnl_status_t *status) {
    uint64_t h = fnv1a(key->bytes, key->len);
    pthread_mutex_lock(&g_cache_mu);
    buckets_init();
    int idx = find_locked(h, key);
    if (idx >= 0) {
        g_entries[idx].tick = ++g_tick;
        g_hits++;
        pthread_mutex_unlock(&g_cache_mu);
        if (status) *status = dnnl_success;
        return &g_entries[idx].p;
    }
    pthread_mutex_unlock(&g_cache_mu);

    /* Create outside the lock: creation is slow (JIT) and make_pd may look up its forward hint. */
    wsss_dnnl_engine();
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = make_pd(&pd, arg);
    if (status) *status = st;
    if (st != dnnl_success) return NULL;
    WSSS_ASSERT(pd != NULL, "make_pd succeeded without a primitive descriptor");
    dnnl_primitive_t prim;
    DNNL_CHECK(dnnl_primitive_create(&prim, pd));
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sbytes = wsss_dnnl_md_is_zero(smd) ? 0 : dnnl_memory_desc_get_size(smd);

    pthread_mutex_lock(&g_cache_mu);
    idx = find_locked(h, key);
    if (idx >= 0) { /* another thread created it meanwhile: keep theirs */
        g_entries[idx].tick = ++g_tick;
        pthread_mutex_unlock(&g_cache_mu);
        DNNL_CHECK(dnnl_primitive_destroy(prim));
        DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
        return &g_entries[idx].p;
    }
    g_misses++;
    if (g_n_entries == WSSS_DNNL_CACHE_CAP) {
        int lru = 0;
        for (int i = 1; i < WSSS_DNNL_CACHE_CAP; i++)
            if (g_entries[i].tick < g_entries[lru].tick) lru = i;
        entry_destroy_locked(lru);
    }
    for (idx = 0; g_entries[idx].used; idx++) {
    }
    cache_entry *e = &g_entries[idx];
    e->used = 1;
    e->hash = h;
    e->tick = ++g_tick;
    e->key_len = key->len;
    e->key = wsss_xmalloc(key->len);
    memcpy(e->key, key->bytes, key->len);
    e->p.pd = pd;
    e->p.prim = prim;
    e->p.scratchpad_bytes = sbytes;
    e->next = g_buckets[h & (N_BUCKETS - 1)];
    g_buckets[h & (N_BUCKETS - 1)] = idx;
    g_n_entries++;
    pthread_mutex_unlock(&g_cache_mu);
    return &e->p;
}

void wsss_dnnl_cache_clear(void) {
    pthread_mutex_lock(&g_cache_mu);
    buckets_init();
    for (int i = 0; i < WSSS_DNNL_CACHE_CAP; i++)
        if (g_entries[i].used) entry_destroy_locked(i);
    pthread_mutex_unlock(&g_cache_mu);
}

void wsss_dnnl_cache_stats(size_t *entries, uint64_t *hits, uint64_t *misses) {
    pthread_mutex_lock(&g_cache_mu);
    if (entries) *entries = g_n_entries;
    if (hits) *hits = g_hits;
    if (misses) *misses = g_misses;
    pthread_mutex_unlock(&g_cache_mu);
}

const dnnl_memory_desc_t *wsss_dnnl_arg_md(const wsss_dnnl_prim *p, int arg) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(p->pd, dnnl_query_exec_arg_md, arg);
    WSSS_ASSERT(md != NULL, "oneDNN memory descriptor query failed");
    return md;
}

const dnnl_memory_desc_t *wsss_dnnl_pd_md(const wsss_dnnl_prim *p, dnnl_query_t what) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(p->pd, what, 0);
    WSSS_ASSERT(md != NULL, "oneDNN memory descriptor query failed");
    return md;
}

/* ---------------- execution ---------------- */

static pthread_mutex_t g_exec_mu = PTHREAD_MUTEX_INITIALIZER;
static void *g_scratch;
static size_t g_scratch_bytes;

void wsss_dnnl_args_add(wsss_dnnl_args *a, int arg, dnnl_memory_t mem) {
    WSSS_ASSERT(a->n < WSSS_DNNL_MAX_ARGS, "too many oneDNN execute arguments");
    a->a[a->n].arg = arg;
    a->a[a->n].memory = mem;
    a->n++;
}

void wsss_dnnl_execute(const wsss_dnnl_prim *p, const wsss_dnnl_args *args) {
    dnnl_exec_arg_t a[WSSS_DNNL_MAX_ARGS + 1];
    int n = args ? args->n : 0;
    if (n) memcpy(a, args->a, (size_t)n * sizeof a[0]);
    dnnl_stream_t stream = wsss_dnnl_stream();
    pthread_mutex_lock(&g_exec_mu);
    dnnl_memory_t scratch = NULL;
    if (p->scratchpad_bytes) {
        if (g_scratch_bytes < p->scratchpad_bytes) {
            free(g_scratch);
            size_t sz = (p->scratchpad_bytes + 4095) / 4096 * 4096;
            g_scratch = aligned_alloc(64, sz);
            WSSS_ASSERT(g_scratch != NULL, "out of memory for the oneDNN scratchpad");
            g_scratch_bytes = sz;
        }
        scratch = wsss_dnnl_mem_wrap(
            dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0), g_scratch);
        a[n].arg = DNNL_ARG_SCRATCHPAD;
        a[n].memory = scratch;
        n++;
    }
    DNNL_CHECK(dnnl_primitive_execute(p->prim, stream, n, a));
    DNNL_CHECK(dnnl_stream_wait(stream));
    pthread_mutex_unlock(&g_exec_mu);
    wsss_dnnl_mem_free(scratch);
}

void wsss_dnnl_bufs_add(wsss_dnnl_bufs *b, int arg, const dnnl_memory_desc_t *md, const void *ptr) {
    WSSS_ASSERT(b->args.n < WSSS_DNNL_MAX_ARGS, "too many oneDNN arguments");
    b->mems[b->args.n] = wsss_dnnl_mem_wrap(md, ptr);
    wsss_dnnl_args_add(&b->args, arg, b->mems[b->args.n]);
}

void wsss_dnnl_bufs_add_arg(wsss_dnnl_bufs *b, const wsss_dnnl_prim *p, int arg, const void *ptr) {
    wsss_dnnl_bufs_add(b, arg, wsss_dnnl_arg_md(p, arg), ptr);
}

void wsss_dnnl_bufs_execute(const wsss_dnnl_prim *p, wsss_dnnl_bufs *b) {
    wsss_dnnl_execute(p, &b->args);
    for (int i = 0; i < b->args.n; i++) wsss_dnnl_mem_free(b->mems[i]);
    b->args.n = 0;
}

dnnl_status_t wsss_dnnl_pd_create(dnnl_status_t desc_status, dnnl_primitive_desc_t *pd, const void *op_desc,
                                  const wsss_dnnl_prim *hint) {
    if (desc_status != dnnl_success) return desc_status;
    return dnnl_primitive_desc_create(pd, op_desc, wsss_dnnl_attr(), wsss_dnnl_engine(), hint ? hint->pd : NULL);
}

void *wsss_dnnl_buf(size_t nbytes, int zero) {
    size_t n = (nbytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, n ? n : 64);
    WSSS_ASSERT(p != NULL, "out of memory for a oneDNN temporary");
    if (zero) memset(p, 0, n);
    return p;
}

/* ---------------- reorder ---------------- */

typedef struct reorder_arg {
    const dnnl_memory_desc_t *src, *dst;
} reorder_arg;

static dnnl_status_t make_reorder_pd(dnnl_primitive_desc_t *pd, const void *arg) {
    const reorder_arg *r = arg;
    dnnl_engine_t eng = wsss_dnnl_engine();
    return dnnl_reorder_primitive_desc_create(pd, r->src, eng, r->dst, eng, wsss_dnnl_attr());
}

static const dnnl_memory_desc_t *mem_md(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md;
    DNNL_CHECK(dnnl_memory_get_memory_desc(m, &md));
    return md;
}

void wsss_dnnl_reorder(dnnl_memory_t src, dnnl_memory_t dst) {
    reorder_arg r = {mem_md(src), mem_md(dst)};
    wsss_dnnl_key k;
    wsss_dnnl_key_init(&k, "reorder");
    wsss_dnnl_key_md(&k, r.src);
    wsss_dnnl_key_md(&k, r.dst);
    dnnl_status_t st;
    const wsss_dnnl_prim *p = wsss_dnnl_cache_get(&k, make_reorder_pd, &r, &st);
    if (!p) wsss_dnnl_fail("dnnl_reorder_primitive_desc_create", st, __FILE__, __LINE__);
    wsss_dnnl_args a = {0};
    wsss_dnnl_args_add(&a, DNNL_ARG_FROM, src);
    wsss_dnnl_args_add(&a, DNNL_ARG_TO, dst);
    /* Small reorders (weights, small activations) run on the calling thread: a copy of a few MB is
     * memory-bound, and a parallel region costs more than it saves when the other cores are busy
     * (the waiting thread's barrier then lasts a scheduler time slice). */
    int serial = 0, nthr = 1;
#ifdef _OPENMP
    nthr = omp_get_max_threads();
    serial = nthr > 1 && wsss_dnnl_md_bytes(r.dst) <= WSSS_DNNL_SERIAL_REORDER_BYTES;
    if (serial) omp_set_num_threads(1);
#endif
    wsss_dnnl_execute(p, &a);
#ifdef _OPENMP
    if (serial) omp_set_num_threads(nthr);
#endif
    (void)serial;
    (void)nthr;
}

void wsss_dnnl_io_input(wsss_dnnl_io *io, const dnnl_memory_desc_t *want,
                        const dnnl_memory_desc_t *user_md, const void *ptr) {
    io->is_output = 0;
    io->user = wsss_dnnl_mem_wrap(user_md, ptr);
    if (wsss_dnnl_md_equal(want, user_md)) {
        io->mem = io->user;
        return;
    }
    io->mem = wsss_dnnl_mem_alloc(want);
    wsss_dnnl_reorder(io->user, io->mem);
}

void wsss_dnnl_io_output(wsss_dnnl_io *io, const dnnl_memory_desc_t *want,
                         const dnnl_memory_desc_t *user_md, void *ptr) {
    io->is_output = 1;
    io->user = wsss_dnnl_mem_wrap(user_md, ptr);
    io->mem = wsss_dnnl_md_equal(want, user_md) ? io->user : wsss_dnnl_mem_alloc(want);
}

void wsss_dnnl_io_finish(wsss_dnnl_io *io) {
    if (io->mem && io->mem != io->user) {
        if (io->is_output) wsss_dnnl_reorder(io->mem, io->user);
        wsss_dnnl_mem_free(io->mem);
    }
    wsss_dnnl_mem_free(io->user);
    io->mem = io->user = NULL;
}
