/* Checkpoint directories: bit-exact round trip of model, buffers, optimizer state and training
 * state; clear errors for missing/corrupted pieces; an existing checkpoint survives a failed save
 * and an interrupted swap; leftovers of killed saves are cleaned, a live process's never. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/checkpoint.h"

static char g_dir[1024];

static void build_model(wsss_params *ps, int variant) {
    wsss_params_init(ps);
    wsss_params_add_param(ps, "conv.weight", WSSS_F32, 4, (int64_t[]){4, 3, 3, 3}, 0);
    wsss_params_add_param(ps, "conv.bias", WSSS_F32, 1, (int64_t[]){4}, 1);
    wsss_params_add_buffer(ps, "bn.running_mean", WSSS_F32, 1, (int64_t[]){4});
    wsss_params_add_buffer(ps, "bn.num_batches_tracked", WSSS_I64, 0, NULL);
    wsss_params_add_param(ps, "fc.weight", WSSS_F32, 2, (int64_t[]){5, variant == 1 ? 3 : 4}, 2);
    wsss_params_add_param(ps, "fc.bias", WSSS_F32, 1, (int64_t[]){5}, 3);
    if (variant == 2) wsss_params_add_param(ps, "extra.weight", WSSS_F32, 1, (int64_t[]){2}, 0);
}

static wsss_optim *build_optim(wsss_params *ps) {
    const wsss_optim_group g[4] = {{1, 5e-4}, {2, 0}, {10, 5e-4}, {20, 0}};
    wsss_optim_config c = wsss_optim_sgd_config(0.9, 0, 1);
    wsss_optim *o = wsss_optim_new(&c, 4, g);
    wsss_optim_add_params(o, ps);
    return o;
}

/* Random values in every tensor, then 3 SGD steps with random gradients. */
static void train_a_bit(wsss_params *ps, wsss_optim *o) {
    for (int i = 0; i < wsss_params_count(ps); i++) {
        wsss_tensor *t = wsss_params_at(ps, i)->t;
        wsss_tensor *r = rand_tensor(WSSS_F32, t->ndim, t->shape, -1, 1, 40 + i);
        if (t->dtype == WSSS_I64)
            ((int64_t *)t->data)[0] = 12345;
        else
            wsss_tensor_copy_into(t, r);
        wsss_tensor_free(r);
    }
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < wsss_params_count(ps); i++) {
            const wsss_param *p = wsss_params_at(ps, i);
            if (p->kind != WSSS_KIND_PARAM) continue;
            wsss_tensor_free(p->t->grad);
            p->t->grad = rand_tensor(WSSS_F32, p->t->ndim, p->t->shape, -1, 1, 100 * s + i);
        }
        wsss_optim_step(o, 0.01);
    }
}

static int same_bits(const wsss_tensor *x, const wsss_tensor *y) {
    if (!x || !y) return x == y;
    return x->dtype == y->dtype && wsss_tensor_same_shape(x, y) &&
           memcmp(x->data, y->data, wsss_tensor_nbytes(x)) == 0;
}

static int models_equal(const wsss_params *a, const wsss_params *b) {
    if (wsss_params_count(a) != wsss_params_count(b)) return 0;
    for (int i = 0; i < wsss_params_count(a); i++)
        if (!same_bits(wsss_params_at(a, i)->t, wsss_params_at(b, i)->t)) return 0;
    return 1;
}

static int optims_equal(const wsss_optim *a, const wsss_optim *b) {
    if (a->n_slots != b->n_slots) return 0;
    for (int i = 0; i < a->n_slots; i++) {
        if (a->slots[i].step != b->slots[i].step) return 0;
        for (int k = 0; k < 3; k++)
            if (!same_bits(a->slots[i].buf[k], b->slots[i].buf[k])) return 0;
    }
    return 1;
}

static void make_state(wsss_ckpt_state *st) {
    wsss_ckpt_state_init(st);
    st->step = 3;
    st->epoch = 1;
    st->sched = wsss_lr_step(0.01, 0.1, 2, (int64_t[]){5, 10});
    st->lr = 0.01 / 3.0; /* not a short decimal */
    wsss_rng_seed(&st->rng, 77);
    for (int i = 0; i < 5; i++) wsss_rng_u64(&st->rng);
    wsss_rng_normal(&st->rng); /* leaves a Box-Muller spare */
    st->n_data_pos = 3;
    st->data_pos[0] = 7;
    st->data_pos[1] = -3;
    st->data_pos[2] = INT64_MAX;
    wsss_ckpt_state_set_config(st, "model: \"resnet38\"\nlr: 0.01\t# caf\xc3\xa9 \xe2\x9c\x93\n");
}

static int states_equal(const wsss_ckpt_state *a, const wsss_ckpt_state *b) {
    int ok = a->step == b->step && a->epoch == b->epoch && memcmp(&a->lr, &b->lr, sizeof a->lr) == 0;
    ok &= a->sched.kind == b->sched.kind && a->sched.base_lr == b->sched.base_lr && a->sched.gamma == b->sched.gamma &&
          a->sched.n_milestones == b->sched.n_milestones && a->sched.power == b->sched.power &&
          a->sched.max_iter == b->sched.max_iter;
    for (int i = 0; i < a->sched.n_milestones; i++) ok &= a->sched.milestones[i] == b->sched.milestones[i];
    ok &= memcmp(a->rng.s, b->rng.s, sizeof a->rng.s) == 0 && memcmp(&a->rng.spare, &b->rng.spare, sizeof(double)) == 0 &&
          a->rng.has_spare == b->rng.has_spare;
    ok &= a->n_data_pos == b->n_data_pos && memcmp(a->data_pos, b->data_pos, sizeof a->data_pos) == 0;
    ok &= (a->config == NULL) == (b->config == NULL) && (!a->config || strcmp(a->config, b->config) == 0);
    return ok;
}

static void sub_path(char *out, size_t n, const char *dir, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* Replace the first occurrence of `from` by `to` in dir/state.json. */
static void edit_state(const char *dir, const char *from, const char *to) {
    char p[1200];
    sub_path(p, sizeof p, dir, "state.json");
    char *s = test_read_file(p, NULL);
    char *at = strstr(s, from);
    if (!at) {
        fprintf(stderr, "test bug: '%s' not in state.json\n", from);
        exit(1);
    }
    size_t n = strlen(s), fl = strlen(from), tl = strlen(to);
    char *o = wsss_xmalloc(n - fl + tl + 1);
    memcpy(o, s, (size_t)(at - s));
    memcpy(o + (at - s), to, tl);
    strcpy(o + (at - s) + tl, at + fl);
    test_write_file(p, o, strlen(o));
    free(o);
    free(s);
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    char *b = test_read_file(from, &n);
    test_write_file(to, b, n);
    free(b);
}

/* Copy the reference checkpoint dir/ref to dir/bad (3 files). */
static const char *fresh_copy(const char *ref) {
    static char bad[1100];
    char a[1200], b[1200];
    snprintf(bad, sizeof bad, "%s/bad", g_dir);
    mkdir(bad, 0755);
    const char *files[] = {"model.safetensors", "optim.safetensors", "state.json"};
    for (int i = 0; i < 3; i++) {
        sub_path(a, sizeof a, ref, files[i]);
        sub_path(b, sizeof b, bad, files[i]);
        copy_file(a, b);
    }
    return bad;
}

/* A fresh copy of ref without its file `name`. */
static const char *copy_without(const char *ref, const char *name) {
    const char *bad = fresh_copy(ref);
    char p[1200];
    sub_path(p, sizeof p, bad, name);
    unlink(p);
    return bad;
}

/* A fresh copy of ref whose file `name` keeps only its first `keep` bytes (half of it if keep is 0). */
static const char *copy_truncated(const char *ref, const char *name, size_t keep) {
    const char *bad = fresh_copy(ref);
    char p[1200];
    sub_path(p, sizeof p, bad, name);
    size_t n;
    char *s = test_read_file(p, &n);
    test_write_file(p, s, keep ? keep : n / 2);
    free(s);
    return bad;
}

/* Load `dir` into a fresh model/optim; expect failure with every `needle` in the message. */
static void expect_load_error(const char *what, const char *dir, int variant, int with_opt, const char *n1,
                              const char *n2) {
    wsss_params ps;
    build_model(&ps, variant);
    wsss_optim *o = with_opt ? build_optim(&ps) : NULL;
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    int rc = wsss_ckpt_load(dir, &ps, o, &st);
    const char *m = wsss_error_msg();
    CHECK(rc == WSSS_ERR && strstr(m, n1) && (!n2 || strstr(m, n2)), "%s: message '%s' should contain '%s'%s%s",
          what, m, n1, n2 ? " and " : "", n2 ? n2 : "");
    printf("  %-22s -> %s\n", what, m);
    wsss_ckpt_state_clear(&st);
    wsss_optim_free(o);
    wsss_params_free(&ps);
}

/* "DIR<tag><pid>" as a directory holding a (partial) model file, like a killed save leaves it. */
static void make_leftover(char *out, size_t n, const char *dir, const char *tag, long pid) {
    snprintf(out, n, "%s%s%ld", dir, tag, pid);
    mkdir(out, 0755);
    char f[1300];
    snprintf(f, sizeof f, "%s/model.safetensors", out);
    test_write_file(f, "partial", 7);
    snprintf(f, sizeof f, "%s/optim.safetensors.tmp-%ld.Ab12Cd", out, pid);
    test_write_file(f, "partial", 7);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* Leftovers of killed saves (process gone) are cleaned by the next load or save; a live process's
 * are never touched. dir holds a valid checkpoint of m. */
/* A checkpoint loaded into a fresh model, optimizer and state, as a resumed run does; rc is the
 * load's result. */
typedef struct fresh_load {
    wsss_params m;
    wsss_optim *o;
    wsss_ckpt_state s;
    int rc;
} fresh_load;

static void load_fresh(const char *dir, fresh_load *l) {
    build_model(&l->m, 0);
    l->o = build_optim(&l->m);
    wsss_ckpt_state_init(&l->s);
    l->rc = wsss_ckpt_load(dir, &l->m, l->o, &l->s);
}

static void fresh_load_free(fresh_load *l) {
    wsss_ckpt_state_clear(&l->s);
    wsss_optim_free(l->o);
    wsss_params_free(&l->m);
}

static void test_stale_leftovers(const char *dir, wsss_params *m, wsss_optim *o, const wsss_ckpt_state *s) {
    long dead = test_dead_pid(), dead2 = test_dead_pid(), live = (long)getppid();
    CHECK(dead != dead2, "two dead pids");
    char dead_tmp[1200], live_tmp[1200], dead_old[1200], moved[1200];
    /* a save killed between its two renames: DIR is missing, DIR.old-<pid> holds the checkpoint */
    snprintf(dead_old, sizeof dead_old, "%s.old-%ld", dir, dead);
    CHECK(rename(dir, dead_old) == 0, "rename: %s", strerror(errno));
    make_leftover(dead_tmp, sizeof dead_tmp, dir, ".tmp-", dead);
    make_leftover(live_tmp, sizeof live_tmp, dir, ".tmp-", live);
    {
        fresh_load l;
        load_fresh(dir, &l);
        CHECK(l.rc == WSSS_OK && models_equal(m, &l.m) && optims_equal(o, l.o),
              "load puts DIR.old-<dead pid> back: %s", wsss_error_msg());
        fresh_load_free(&l);
    }
    CHECK(!exists(dead_old), "DIR.old-<dead pid> moved back");
    CHECK(!exists(dead_tmp), "DIR.tmp-<dead pid> removed");
    CHECK(exists(live_tmp), "DIR.tmp-<live pid> kept");
    /* a save killed while removing DIR.old-<pid> (DIR in place): the next save removes it */
    make_leftover(dead_old, sizeof dead_old, dir, ".old-", dead2);
    make_leftover(dead_tmp, sizeof dead_tmp, dir, ".tmp-", dead2);
    snprintf(moved, sizeof moved, "%s.old-%ld", dir, live);
    mkdir(moved, 0755);
    CHECK(wsss_ckpt_save(dir, m, o, s) == WSSS_OK, "save: %s", wsss_error_msg());
    CHECK(!exists(dead_old) && !exists(dead_tmp), "save removes the dead process's DIR.old-/DIR.tmp-");
    CHECK(exists(live_tmp) && exists(moved), "save keeps the live process's DIR.tmp-/DIR.old-");
    /* a leftover holding files that are not a checkpoint's is kept */
    make_leftover(dead_tmp, sizeof dead_tmp, dir, ".tmp-", dead);
    char f[1300];
    snprintf(f, sizeof f, "%s/notes.txt", dead_tmp);
    test_write_file(f, "mine", 4);
    CHECK(wsss_ckpt_clean_stale(dir) == 0 && exists(f), "a leftover with a foreign file is kept");
    /* names that only look similar are not leftovers */
    snprintf(f, sizeof f, "%s.tmp-%ldx", dir, dead);
    mkdir(f, 0755);
    CHECK(wsss_ckpt_clean_stale(dir) == 0 && exists(f), "DIR.tmp-<pid>x is not a leftover");
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    CHECK(wsss_ckpt_load_state(dir, &st) == WSSS_OK, "DIR still loads: %s", wsss_error_msg());
    wsss_ckpt_state_clear(&st);
}

/* text with the first `from` replaced by `to` (malloc'd) */
static char *replaced(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    WSSS_ASSERT(at, "edit not found in the state text");
    size_t n = strlen(text) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* state.json of a several-part checkpoint: "parts" and "phase" round trip, and their errors name
 * the field (the files themselves: test_trainer_parts) */
static void test_parts_state(void) {
    wsss_ckpt_state s, back;
    wsss_ckpt_state_init(&s);
    wsss_ckpt_state_init(&back);
    s.step = 7;
    s.rng.s[0] = 1;
    s.n_parts = 2;
    snprintf(s.parts[0].name, sizeof s.parts[0].name, "localizer");
    snprintf(s.parts[1].name, sizeof s.parts[1].name, "adversary");
    s.parts[0].steps = 4;
    s.parts[1].steps = 3;
    s.parts[0].sched = wsss_lr_poly(0.1, 0.9, 100);
    s.parts[1].sched = wsss_lr_constant(0.01);
    s.parts[1].lr = 0.01;
    s.phase = 2;
    char *json = wsss_ckpt_state_to_json(&s, 1);
    int has_opt = 0;
    CHECK(wsss_ckpt_state_parse("state.json", json, strlen(json), &back, &has_opt) == WSSS_OK, "parts: %s",
          wsss_error_msg());
    CHECK(back.n_parts == 2 && !strcmp(back.parts[1].name, "adversary") && back.parts[0].steps == 4 &&
              back.parts[1].steps == 3 && back.phase == 2 && back.parts[0].sched.kind == WSSS_LR_POLY &&
              back.parts[0].sched.max_iter == 100 && back.parts[1].lr == 0.01,
          "parts round trip");
    static const struct { const char *what, *from, *to, *needle; } edits[] = {
        {"a bad part name", "\"adversary\"", "\"Adv ersary\"", "field 'parts[1].name' is \"Adv ersary\""},
        {"a name twice", "\"adversary\"", "\"localizer\"", "part \"localizer\" appears twice"},
        {"phase out of range", "\"phase\": 2", "\"phase\": 4", "field 'phase' is 4"},
        {"phase without parts", "\"parts\"", "\"partz\"", "field 'parts' missing"},
        {"a part's schedule", "\"kind\": \"poly\"", "\"kind\": \"linear\"", "parts[0].lr_schedule.kind"},
        {"negative steps", "\"steps\": 3", "\"steps\": -3", "parts[1].steps' is negative"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *t = replaced(json, edits[i].from, edits[i].to);
        CHECK(wsss_ckpt_state_parse("state.json", t, strlen(t), &back, &has_opt) == WSSS_ERR &&
                  strstr(wsss_error_msg(), edits[i].needle),
              "%s: '%s'", edits[i].what, wsss_error_msg());
        free(t);
    }
    free(json);
    wsss_ckpt_state_clear(&back);
    wsss_error_clear();
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("test_checkpoint"));
    test_parts_state();
    char ck[1100], p[1200];
    snprintf(ck, sizeof ck, "%s/ck", g_dir);

    wsss_params m1;
    build_model(&m1, 0);
    wsss_optim *o1 = build_optim(&m1);
    train_a_bit(&m1, o1);
    wsss_ckpt_state s1;
    make_state(&s1);

    /* ---- round trip ---- */
    CHECK(wsss_ckpt_save(ck, &m1, o1, &s1) == WSSS_OK, "save: %s", wsss_error_msg());
    snprintf(p, sizeof p, "%s.tmp-%ld", ck, (long)getpid());
    CHECK(access(p, F_OK) != 0, "temporary directory removed after save");
    {
        fresh_load l;
        load_fresh(ck, &l);
        CHECK(l.rc == WSSS_OK, "load: %s", wsss_error_msg());
        CHECK(models_equal(&m1, &l.m), "parameters and buffers round-trip bit-exactly");
        CHECK(optims_equal(o1, l.o), "optimizer state round-trips bit-exactly");
        CHECK(states_equal(&s1, &l.s), "training state (step, epoch, lr, schedule, rng, data position, config)");
        CHECK(strlen(l.s.timestamp) == 20 && l.s.timestamp[19] == 'Z', "timestamp '%s'", l.s.timestamp);
        /* the resumed RNG continues the same stream, including the spare normal */
        wsss_rng r1 = s1.rng, r2 = l.s.rng;
        CHECK(wsss_rng_normal(&r1) == wsss_rng_normal(&r2) && wsss_rng_u64(&r1) == wsss_rng_u64(&r2),
              "rng continues identically");
        /* state-only load */
        wsss_ckpt_state s3;
        wsss_ckpt_state_init(&s3);
        CHECK(wsss_ckpt_load_state(ck, &s3) == WSSS_OK && states_equal(&s1, &s3), "load_state: %s", wsss_error_msg());
        wsss_ckpt_state_clear(&s3);
        fresh_load_free(&l);
    }

    /* ---- overwrite: the new checkpoint replaces the old one, nothing left behind ---- */
    s1.step = 4;
    wsss_ckpt_state_set_config(&s1, NULL);
    CHECK(wsss_ckpt_save(ck, &m1, o1, &s1) == WSSS_OK, "second save: %s", wsss_error_msg());
    {
        wsss_ckpt_state s2;
        wsss_ckpt_state_init(&s2);
        CHECK(wsss_ckpt_load_state(ck, &s2) == WSSS_OK && s2.step == 4 && s2.config == NULL, "second save loads");
        wsss_ckpt_state_clear(&s2);
        snprintf(p, sizeof p, "%s.old-%ld", ck, (long)getpid());
        CHECK(access(p, F_OK) != 0, "previous checkpoint removed after the swap");
    }
    /* trailing slash */
    snprintf(p, sizeof p, "%s/", ck);
    CHECK(wsss_ckpt_save(p, &m1, o1, &s1) == WSSS_OK, "save with trailing slash: %s", wsss_error_msg());
    {
        char inner[1300];
        snprintf(inner, sizeof inner, "%s/.tmp-%ld", ck, (long)getpid());
        CHECK(access(inner, F_OK) != 0, "no temporary directory inside the checkpoint");
    }
    s1.step = 3;
    wsss_ckpt_state_set_config(&s1, "cfg");
    CHECK(wsss_ckpt_save(ck, &m1, o1, &s1) == WSSS_OK, "third save: %s", wsss_error_msg());

    /* ---- a failed save leaves the existing checkpoint intact ---- */
    {
        sub_path(p, sizeof p, ck, "state.json");
        char *before = test_read_file(p, NULL);
        wsss_params bad;
        wsss_params_init(&bad);
        /* a tensor name the safetensors writer must refuse: the model file cannot be written */
        wsss_params_add_param(&bad, "__metadata__", WSSS_F32, 1, (int64_t[]){2}, 0);
        CHECK(wsss_ckpt_save(ck, &bad, NULL, &s1) == WSSS_ERR, "saving an unwritable model fails");
        printf("  %-22s -> %s\n", "failed save", wsss_error_msg());
        char *after = test_read_file(p, NULL);
        CHECK(before && after && strcmp(before, after) == 0, "existing state.json unchanged by a failed save");
        free(before);
        free(after);
        wsss_params_free(&bad);
        snprintf(p, sizeof p, "%s.tmp-%ld", ck, (long)getpid());
        CHECK(access(p, F_OK) != 0, "failed save cleans up its temporary directory");
        fresh_load l;
        load_fresh(ck, &l);
        CHECK(l.rc == WSSS_OK && models_equal(&m1, &l.m) && optims_equal(o1, l.o),
              "checkpoint still loads after a failed save: %s", wsss_error_msg());
        fresh_load_free(&l);
    }
    /* a stale temporary directory of ours (e.g. from a crash) does not block saving */
    snprintf(p, sizeof p, "%s.tmp-%ld", ck, (long)getpid());
    mkdir(p, 0755);
    {
        char f[1300];
        sub_path(f, sizeof f, p, "model.safetensors");
        test_write_file(f, "junk", 4);
    }
    CHECK(wsss_ckpt_save(ck, &m1, o1, &s1) == WSSS_OK && access(p, F_OK) != 0, "save over a stale temp dir: %s",
          wsss_error_msg());
    /* an existing non-checkpoint directory is never replaced */
    {
        char other[1100], f[1200];
        snprintf(other, sizeof other, "%s/not_a_ckpt", g_dir);
        mkdir(other, 0755);
        sub_path(f, sizeof f, other, "precious.txt");
        test_write_file(f, "keep", 4);
        CHECK(wsss_ckpt_save(other, &m1, o1, &s1) == WSSS_ERR && strstr(wsss_error_msg(), "not a wsss checkpoint"),
              "refuses to replace a foreign directory: %s", wsss_error_msg());
        CHECK(access(f, F_OK) == 0, "foreign file kept");
    }
    /* interrupted swap by a live process (here: us): only DIR.old-<pid> exists; load leaves it alone
     * and says where the checkpoint is */
    char crash[1100];
    snprintf(crash, sizeof crash, "%s/crash", g_dir);
    {
        char moved[1200];
        CHECK(wsss_ckpt_save(crash, &m1, o1, &s1) == WSSS_OK, "save: %s", wsss_error_msg());
        snprintf(moved, sizeof moved, "%s.old-%ld", crash, (long)getpid());
        CHECK(rename(crash, moved) == 0, "rename: %s", strerror(errno));
        snprintf(p, sizeof p, ".old-%ld", (long)getpid());
        expect_load_error("interrupted swap", crash, 0, 1, "not found", p);
        fresh_load l;
        load_fresh(moved, &l);
        CHECK(l.rc == WSSS_OK && models_equal(&m1, &l.m), "the .old copy loads: %s",
              wsss_error_msg());
        fresh_load_free(&l);
        CHECK(rename(moved, crash) == 0, "rename back: %s", strerror(errno));
    }
    test_stale_leftovers(crash, &m1, o1, &s1);

    /* ---- validation errors name the file and the field ---- */
    const char *bad;
    snprintf(p, sizeof p, "%s/nothing_here", g_dir);
    expect_load_error("missing directory", p, 0, 1, "nothing_here", "not found");
    expect_load_error("missing state.json", copy_without(ck, "state.json"), 0, 1, "state.json", "cannot open");
    /* truncated JSON */
    expect_load_error("truncated state.json", copy_truncated(ck, "state.json", 0), 0, 1, "state.json", "byte");
    static const struct { const char *what, *from, *to, *needle; } edits[] = {
        {"wrong version", "\"version\": 1", "\"version\": 2", "field 'version' is 2"},
        {"missing field", "\"epoch\"", "\"epoch_\"", "field 'epoch' missing"},
        {"mistyped field", "\"step\": 3", "\"step\": \"3\"", "field 'step' is a string"},
        {"bad rng word", "\"0x", "\"0y", "rng.s[0]"},
        {"bad schedule kind", "\"kind\": \"step\"", "\"kind\": \"linear\"", "lr_schedule.kind"},
        {"cosine without a length", "\"kind\": \"step\"", "\"kind\": \"cosine\"", "max_iter' is 0, expected > 0 for a cosine"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        bad = fresh_copy(ck);
        edit_state(bad, edits[i].from, edits[i].to);
        expect_load_error(edits[i].what, bad, 0, 1, "state.json", edits[i].needle);
    }
    expect_load_error("missing model file", copy_without(ck, "model.safetensors"), 0, 1, "model.safetensors", NULL);
    bad = copy_without(ck, "optim.safetensors");
    expect_load_error("missing optim file", bad, 0, 1, "optim.safetensors", NULL);
    /* ... but the model alone still loads (e.g. for evaluation) */
    {
        wsss_params m2;
        build_model(&m2, 0);
        wsss_ckpt_state s2;
        wsss_ckpt_state_init(&s2);
        CHECK(wsss_ckpt_load(bad, &m2, NULL, &s2) == WSSS_OK && models_equal(&m1, &m2), "model-only load: %s",
              wsss_error_msg());
        wsss_ckpt_state_clear(&s2);
        wsss_params_free(&m2);
    }
    /* truncated: header claims more than is there */
    bad = copy_truncated(ck, "model.safetensors", 100);
    expect_load_error("truncated model file", bad, 0, 1, "model.safetensors", NULL);
    expect_load_error("shape mismatch", ck, 1, 1, "model.safetensors", "fc.weight");
    expect_load_error("tensor missing", ck, 2, 1, "model.safetensors", "extra.weight");
    expect_load_error("tensor missing, no opt", ck, 2, 0, "model.safetensors", "extra.weight");
    {
        char noopt[1100];
        snprintf(noopt, sizeof noopt, "%s/noopt", g_dir);
        CHECK(wsss_ckpt_save(noopt, &m1, NULL, &s1) == WSSS_OK, "save without optimizer: %s", wsss_error_msg());
        expect_load_error("no optimizer state", noopt, 0, 1, "has_optimizer", NULL);
    }
    /* an optimizer of another kind */
    {
        wsss_params m2;
        build_model(&m2, 0);
        wsss_optim_config c = wsss_optim_adamw_config();
        const wsss_optim_group g[4] = {{1, 0}, {1, 0}, {1, 0}, {1, 0}};
        wsss_optim *o2 = wsss_optim_new(&c, 4, g);
        wsss_optim_add_params(o2, &m2);
        wsss_ckpt_state s2;
        wsss_ckpt_state_init(&s2);
        CHECK(wsss_ckpt_load(ck, &m2, o2, &s2) == WSSS_ERR && strstr(wsss_error_msg(), "optim.safetensors") &&
                  strstr(wsss_error_msg(), "'optimizer'"),
              "optimizer kind mismatch: %s", wsss_error_msg());
        wsss_ckpt_state_clear(&s2);
        wsss_optim_free(o2);
        wsss_params_free(&m2);
    }

    wsss_ckpt_state_clear(&s1);
    wsss_optim_free(o1);
    wsss_params_free(&m1);
    return test_summary("test_checkpoint");
}
