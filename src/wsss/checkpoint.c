/* Checkpoint directories: atomic save (temporary directory + renames) and fully validated load. */
#include "wsss/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/json.h"

#define CKPT_FORMAT "wsss-checkpoint"
#define STATE_JSON "state.json"
#define MODEL_FILE "model.safetensors"
#define OPTIM_FILE "optim.safetensors"

/* Files a checkpoint directory may contain: the only ones we ever delete. */
static const char *const ckpt_files[] = {MODEL_FILE, OPTIM_FILE, STATE_JSON};

void wsss_ckpt_state_init(wsss_ckpt_state *s) {
    memset(s, 0, sizeof *s);
    s->sched = wsss_lr_constant(0.0);
}

void wsss_ckpt_state_clear(wsss_ckpt_state *s) {
    free(s->config);
    s->config = NULL;
}

/* Hands src's contents (and its config string) over to dst; src is left empty. */
static void state_move(wsss_ckpt_state *dst, wsss_ckpt_state *src) {
    wsss_ckpt_state_clear(dst);
    *dst = *src;
    src->config = NULL;
}

void wsss_ckpt_state_set_config(wsss_ckpt_state *s, const char *config) {
    free(s->config);
    s->config = config ? wsss_xstrdup(config) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* filesystem helpers                                                                          */

static char *path_suffix(const char *dir, const char *suffix, long pid) {
    size_t n = strlen(dir) + strlen(suffix) + 32;
    char *p = wsss_xmalloc(n);
    snprintf(p, n, "%s%s%ld", dir, suffix, pid);
    return p;
}

/* dir without trailing slashes ("ckpt/" would otherwise put DIR.tmp-<pid> inside the directory). */
static char *normalize_dir(const char *dir) {
    char *d = wsss_xstrdup(dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') d[--n] = 0;
    return d;
}

/* Remove a checkpoint-shaped directory: its known files, leftover temporary files of our safetensors
 * writer, then the directory. Anything else in it (user files) makes rmdir fail: returns -1 then. */
static int remove_ckpt_dir(const char *dir) {
    for (size_t i = 0; i < sizeof ckpt_files / sizeof *ckpt_files; i++) {
        char *p = wsss_path_join(dir, ckpt_files[i]);
        unlink(p);
        free(p);
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int ours = 0;
            for (size_t i = 0; i < sizeof ckpt_files / sizeof *ckpt_files; i++) {
                size_t n = strlen(ckpt_files[i]);
                if (strncmp(e->d_name, ckpt_files[i], n) == 0 && strncmp(e->d_name + n, ".tmp", 4) == 0) ours = 1;
            }
            if (ours) {
                char *p = wsss_path_join(dir, e->d_name);
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    return rmdir(dir);
}

/* One leftover of an interrupted save next to DIR: DIR<tag><pid> of a process that is gone. */
typedef struct leftover {
    char *path;
    int is_old; /* DIR.old-<pid> (a complete previous checkpoint), else DIR.tmp-<pid> */
} leftover;

int wsss_ckpt_clean_stale(const char *dir_arg) {
    char *dir = normalize_dir(dir_arg);
    char *c1 = wsss_xstrdup(dir), *c2 = wsss_xstrdup(dir);
    const char *parent = dirname(c1), *base = basename(c2);
    leftover *found = NULL;
    int n = 0, cleaned = 0;
    DIR *d = opendir(parent);
    /* collect first: renaming entries while readdir walks the directory may skip or repeat some */
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        static const char *const tags[2] = {".tmp-", ".old-"};
        for (int k = 0; k < 2; k++) {
            long pid = wsss_tmp_name_pid(e->d_name, base, tags[k]);
            char exact[300];
            snprintf(exact, sizeof exact, "%s%s%ld", base, tags[k], pid);
            if (!pid || strcmp(exact, e->d_name) != 0 || !wsss_pid_is_gone(pid)) continue;
            found = wsss_xrealloc(found, sizeof *found * (size_t)(n + 1));
            found[n].path = wsss_path_join(parent, e->d_name);
            found[n].is_old = k == 1;
            n++;
        }
    }
    if (d) closedir(d);
    /* DIR.old-<pid> first: without DIR the save died between its two renames, and the previous
     * checkpoint goes back in place; with DIR it was already superseded */
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < n; i++) {
            struct stat sb; /* a real directory: never follow a symlink into someone's folder */
            if (found[i].is_old != pass || lstat(found[i].path, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
            if (pass == 1 && !wsss_path_exists(dir) && rename(found[i].path, dir) == 0) {
                fprintf(stderr, "wsss: note: %s: restored from %s (a save was interrupted)\n", dir, found[i].path);
                cleaned++;
            } else if (remove_ckpt_dir(found[i].path) == 0) {
                cleaned++;
            } else {
                fprintf(stderr, "wsss: warning: leftover of an interrupted save kept at %s (contains other files)\n",
                        found[i].path);
            }
        }
    for (int i = 0; i < n; i++) free(found[i].path);
    free(found);
    free(c1);
    free(c2);
    free(dir);
    return cleaned;
}

/* ------------------------------------------------------------------------------------------ */
/* state.json                                                                                  */

static void hex_u64(char *buf, size_t n, uint64_t v) { snprintf(buf, n, "0x%016" PRIx64, v); }

static char *state_to_json(const wsss_ckpt_state *state, int has_optimizer) {
    wsss_jw w;
    wsss_jw_init(&w, 2);
    char hex[32];
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, "format", CKPT_FORMAT);
    wsss_jw_kv_int(&w, "version", WSSS_CKPT_VERSION);
    wsss_jw_kv_int(&w, "step", state->step);
    wsss_jw_kv_int(&w, "epoch", state->epoch);
    wsss_jw_kv_double(&w, "lr", state->lr);

    wsss_jw_key(&w, "lr_schedule");
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, "kind", wsss_lr_kind_name(state->sched.kind));
    wsss_jw_kv_double(&w, "base_lr", state->sched.base_lr);
    wsss_jw_kv_double(&w, "gamma", state->sched.gamma);
    wsss_jw_key(&w, "milestones");
    wsss_jw_arr_begin(&w);
    for (int i = 0; i < state->sched.n_milestones; i++) wsss_jw_int(&w, state->sched.milestones[i]);
    wsss_jw_arr_end(&w);
    wsss_jw_kv_double(&w, "power", state->sched.power);
    wsss_jw_kv_int(&w, "max_iter", state->sched.max_iter);
    wsss_jw_obj_end(&w);

    /* RNG words as hex strings: JSON numbers cannot hold 64-bit integers portably. The spare is
     * stored as its IEEE-754 bit pattern so it round-trips exactly. */
    wsss_jw_key(&w, "rng");
    wsss_jw_obj_begin(&w);
    wsss_jw_key(&w, "s");
    wsss_jw_arr_begin(&w);
    for (int i = 0; i < 4; i++) {
        hex_u64(hex, sizeof hex, state->rng.s[i]);
        wsss_jw_string(&w, hex);
    }
    wsss_jw_arr_end(&w);
    uint64_t bits;
    memcpy(&bits, &state->rng.spare, sizeof bits);
    hex_u64(hex, sizeof hex, bits);
    wsss_jw_kv_string(&w, "spare_bits", hex);
    wsss_jw_kv_bool(&w, "has_spare", state->rng.has_spare);
    wsss_jw_obj_end(&w);

    wsss_jw_key(&w, "data_position");
    wsss_jw_arr_begin(&w);
    for (int i = 0; i < state->n_data_pos; i++) wsss_jw_int(&w, state->data_pos[i]);
    wsss_jw_arr_end(&w);

    wsss_jw_key(&w, "config");
    if (state->config)
        wsss_jw_string(&w, state->config);
    else
        wsss_jw_null(&w);

    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    wsss_jw_kv_string(&w, "timestamp", ts);
    wsss_jw_kv_bool(&w, "has_optimizer", has_optimizer);
    wsss_jw_obj_end(&w);
    wsss_jw_append(&w, "\n", 1);
    char *out = wsss_jw_take(&w);
    wsss_jw_free(&w); /* take leaves w re-initialised */
    return out;
}

/* Field readers: error "<file>: field '<name>' ..." on anything unexpected. */
static const wsss_json *field(const char *file, const wsss_json *obj, const char *prefix, const char *key,
                              wsss_json_type type) {
    const wsss_json *v = wsss_json_get(obj, key);
    if (!v) {
        wsss_error_set("%s: field '%s%s' missing", file, prefix, key);
        return NULL;
    }
    if (!wsss_json_is(v, type)) {
        wsss_error_set("%s: field '%s%s' is a %s, expected a %s", file, prefix, key, wsss_json_type_name(v->type),
                       wsss_json_type_name(type));
        return NULL;
    }
    return v;
}

static int field_int(const char *file, const wsss_json *obj, const char *prefix, const char *key, int64_t *out) {
    const wsss_json *v = field(file, obj, prefix, key, WSSS_JSON_NUMBER);
    if (!v) return WSSS_ERR;
    if (wsss_json_as_int64(v, out) != WSSS_OK)
        return wsss_error_set("%s: field '%s%s' is %g, expected an integer", file, prefix, key, v->number);
    return WSSS_OK;
}

static int field_double(const char *file, const wsss_json *obj, const char *prefix, const char *key, double *out) {
    const wsss_json *v = field(file, obj, prefix, key, WSSS_JSON_NUMBER);
    if (!v) return WSSS_ERR;
    *out = v->number;
    return WSSS_OK;
}

static int parse_hex_u64(const char *s, uint64_t *out) {
    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) != 18) return WSSS_ERR;
    uint64_t v = 0;
    for (int i = 2; i < 18; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return WSSS_ERR;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return WSSS_OK;
}

int wsss_ckpt_state_parse(const char *file, const char *text, size_t len, wsss_ckpt_state *state, int *has_optimizer) {
    wsss_json *root = wsss_json_parse(text, len);
    if (!root) return wsss_error_prefix("%s", file);
    int rc = WSSS_ERR;
    wsss_ckpt_state s;
    wsss_ckpt_state_init(&s);
    const wsss_json *v, *sched, *rng, *arr;
    if (!wsss_json_is(root, WSSS_JSON_OBJECT)) {
        wsss_error_set("%s: expected a JSON object at the top level, found a %s", file, wsss_json_type_name(root->type));
        goto done;
    }
    if (!(v = field(file, root, "", "format", WSSS_JSON_STRING))) goto done;
    if (strcmp(v->str, CKPT_FORMAT) != 0) {
        wsss_error_set("%s: field 'format' is \"%s\", expected \"%s\"", file, v->str, CKPT_FORMAT);
        goto done;
    }
    int64_t version;
    if (field_int(file, root, "", "version", &version)) goto done;
    if (version != WSSS_CKPT_VERSION) {
        wsss_error_set("%s: field 'version' is %lld, expected %d (checkpoint written by another wsss version)", file,
                       (long long)version, WSSS_CKPT_VERSION);
        goto done;
    }
    if (field_int(file, root, "", "step", &s.step) || field_int(file, root, "", "epoch", &s.epoch) ||
        field_double(file, root, "", "lr", &s.lr))
        goto done;
    if (s.step < 0 || s.epoch < 0) {
        wsss_error_set("%s: field '%s' is negative", file, s.step < 0 ? "step" : "epoch");
        goto done;
    }

    if (!(sched = field(file, root, "", "lr_schedule", WSSS_JSON_OBJECT))) goto done;
    if (!(v = field(file, sched, "lr_schedule.", "kind", WSSS_JSON_STRING))) goto done;
    if (wsss_lr_kind_parse(v->str, &s.sched.kind) != WSSS_OK) {
        wsss_error_set("%s: field 'lr_schedule.kind' is \"%s\", expected \"constant\", \"step\", \"poly\" or \"cosine\"",
                       file,
                       v->str);
        goto done;
    }
    if (field_double(file, sched, "lr_schedule.", "base_lr", &s.sched.base_lr) ||
        field_double(file, sched, "lr_schedule.", "gamma", &s.sched.gamma) ||
        field_double(file, sched, "lr_schedule.", "power", &s.sched.power) ||
        field_int(file, sched, "lr_schedule.", "max_iter", &s.sched.max_iter))
        goto done;
    if (!(arr = field(file, sched, "lr_schedule.", "milestones", WSSS_JSON_ARRAY))) goto done;
    if (arr->n > WSSS_LR_MAX_MILESTONES) {
        wsss_error_set("%s: field 'lr_schedule.milestones' has %d entries, at most %d allowed", file, arr->n,
                       WSSS_LR_MAX_MILESTONES);
        goto done;
    }
    s.sched.n_milestones = arr->n;
    for (int i = 0; i < arr->n; i++)
        if (wsss_json_as_int64(arr->items[i], &s.sched.milestones[i]) != WSSS_OK) {
            wsss_error_set("%s: field 'lr_schedule.milestones[%d]' is not an integer", file, i);
            goto done;
        }
    if ((s.sched.kind == WSSS_LR_POLY || s.sched.kind == WSSS_LR_COSINE) && s.sched.max_iter <= 0) {
        wsss_error_set("%s: field 'lr_schedule.max_iter' is %lld, expected > 0 for a %s schedule", file,
                       (long long)s.sched.max_iter, wsss_lr_kind_name(s.sched.kind));
        goto done;
    }

    if (!(rng = field(file, root, "", "rng", WSSS_JSON_OBJECT))) goto done;
    if (!(arr = field(file, rng, "rng.", "s", WSSS_JSON_ARRAY))) goto done;
    if (arr->n != 4) {
        wsss_error_set("%s: field 'rng.s' has %d entries, expected 4", file, arr->n);
        goto done;
    }
    for (int i = 0; i < 4; i++)
        if (parse_hex_u64(wsss_json_as_string(arr->items[i]), &s.rng.s[i]) != WSSS_OK) {
            wsss_error_set("%s: field 'rng.s[%d]' is not a \"0x\" + 16 hex digit string", file, i);
            goto done;
        }
    if (!(s.rng.s[0] | s.rng.s[1] | s.rng.s[2] | s.rng.s[3])) {
        wsss_error_set("%s: field 'rng.s' is all zero (not a valid xoshiro256** state)", file);
        goto done;
    }
    uint64_t bits;
    if (!(v = field(file, rng, "rng.", "spare_bits", WSSS_JSON_STRING))) goto done;
    if (parse_hex_u64(v->str, &bits) != WSSS_OK) {
        wsss_error_set("%s: field 'rng.spare_bits' is not a \"0x\" + 16 hex digit string", file);
        goto done;
    }
    memcpy(&s.rng.spare, &bits, sizeof bits);
    if (!(v = field(file, rng, "rng.", "has_spare", WSSS_JSON_BOOL))) goto done;
    s.rng.has_spare = v->boolean;

    if (!(arr = field(file, root, "", "data_position", WSSS_JSON_ARRAY))) goto done;
    if (arr->n > WSSS_CKPT_MAX_DATA_POS) {
        wsss_error_set("%s: field 'data_position' has %d entries, at most %d allowed", file, arr->n,
                       WSSS_CKPT_MAX_DATA_POS);
        goto done;
    }
    s.n_data_pos = arr->n;
    for (int i = 0; i < arr->n; i++)
        if (wsss_json_as_int64(arr->items[i], &s.data_pos[i]) != WSSS_OK) {
            wsss_error_set("%s: field 'data_position[%d]' is not an integer", file, i);
            goto done;
        }

    v = wsss_json_get(root, "config");
    if (!v) {
        wsss_error_set("%s: field 'config' missing", file);
        goto done;
    }
    if (wsss_json_is(v, WSSS_JSON_STRING)) {
        if (strlen(v->str) != v->str_len) {
            wsss_error_set("%s: field 'config' contains a NUL character", file);
            goto done;
        }
        s.config = wsss_xstrdup(v->str);
    } else if (!wsss_json_is(v, WSSS_JSON_NULL)) {
        wsss_error_set("%s: field 'config' is a %s, expected a string or null", file, wsss_json_type_name(v->type));
        goto done;
    }
    if (!(v = field(file, root, "", "timestamp", WSSS_JSON_STRING))) goto done;
    snprintf(s.timestamp, sizeof s.timestamp, "%s", v->str);
    if (!(v = field(file, root, "", "has_optimizer", WSSS_JSON_BOOL))) goto done;
    *has_optimizer = v->boolean;

    state_move(state, &s);
    rc = WSSS_OK;
done:
    wsss_ckpt_state_clear(&s);
    wsss_json_free(root);
    return rc;
}

/* "dir: no such checkpoint" with a hint when an interrupted save left dir.old-<pid> behind. */
static int missing_dir_error(const char *dir) {
    char *c1 = wsss_xstrdup(dir), *c2 = wsss_xstrdup(dir);
    const char *parent = dirname(c1), *base = basename(c2);
    char hint[1024] = "";
    DIR *d = opendir(parent);
    if (d) {
        struct dirent *e;
        size_t bl = strlen(base);
        while ((e = readdir(d)) != NULL)
            if (strncmp(e->d_name, base, bl) == 0 && strncmp(e->d_name + bl, ".old-", 5) == 0) {
                snprintf(hint, sizeof hint, " (an interrupted save left the previous checkpoint at '%s/%s': rename it to '%s')",
                         parent, e->d_name, dir);
                break;
            }
        closedir(d);
    }
    free(c1);
    free(c2);
    return wsss_error_set("%s: checkpoint directory not found%s", dir, hint);
}

static int load_state_json(const char *dir_arg, wsss_ckpt_state *state, int *has_optimizer) {
    char *dir = normalize_dir(dir_arg);
    wsss_ckpt_clean_stale(dir); /* may put back a checkpoint an interrupted save had moved aside */
    if (!wsss_path_is_dir(dir)) {
        missing_dir_error(dir);
        free(dir);
        return WSSS_ERR;
    }
    char *path = wsss_path_join(dir, STATE_JSON);
    free(dir);
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = wsss_file_read_all(path, &text, &len);
    if (rc == WSSS_OK) rc = wsss_ckpt_state_parse(path, (const char *)text, len, state, has_optimizer);
    free(text);
    free(path);
    return rc;
}

int wsss_ckpt_load_state(const char *dir, wsss_ckpt_state *state) {
    int has_opt;
    return load_state_json(dir, state, &has_opt);
}

/* ------------------------------------------------------------------------------------------ */
/* save / load                                                                                 */

int wsss_ckpt_save(const char *dir_arg, const wsss_params *model, const wsss_optim *opt, const wsss_ckpt_state *state) {
    WSSS_ASSERT(dir_arg && model && state, "wsss_ckpt_save: dir, model and state are required");
    char *dir = normalize_dir(dir_arg);
    WSSS_ASSERT(state->n_data_pos >= 0 && state->n_data_pos <= WSSS_CKPT_MAX_DATA_POS, "too many data positions");
    const long pid = (long)getpid();
    int rc = WSSS_ERR;
    char *tmp = path_suffix(dir, ".tmp-", pid), *old = path_suffix(dir, ".old-", pid);
    char *model_path = wsss_path_join(tmp, MODEL_FILE), *optim_path = wsss_path_join(tmp, OPTIM_FILE);
    char *state_path = wsss_path_join(tmp, STATE_JSON), *json = NULL;
    int tmp_made = 0;
    wsss_ckpt_clean_stale(dir);

    /* Never replace something that is not a checkpoint of ours. */
    if (wsss_path_exists(dir)) {
        char *sj = wsss_path_join(dir, STATE_JSON);
        int ok = wsss_path_is_dir(dir) && wsss_path_exists(sj);
        free(sj);
        if (!ok) {
            wsss_error_set("%s: exists and is not a wsss checkpoint directory (no %s); refusing to replace it", dir,
                           STATE_JSON);
            goto done;
        }
    }
    if (wsss_path_exists(tmp) && remove_ckpt_dir(tmp) != 0) {
        wsss_error_set("%s: stale temporary checkpoint directory cannot be removed: %s", tmp, strerror(errno));
        goto done;
    }
    if (mkdir(tmp, 0755) != 0) {
        wsss_error_set("%s: cannot create directory: %s", tmp, strerror(errno));
        goto done;
    }
    tmp_made = 1;
    if (wsss_params_save_safetensors(model, model_path, 1) != WSSS_OK) goto done;
    if (opt && wsss_optim_state_save(opt, optim_path) != WSSS_OK) goto done;
    json = state_to_json(state, opt != NULL);
    if (wsss_file_write_durable(state_path, json, strlen(json)) != WSSS_OK) goto done;

    /* Swap in: dir -> old, tmp -> dir, remove old. Between the two renames only old exists. */
    int had_old = 0;
    if (wsss_path_exists(dir)) {
        if (wsss_path_exists(old) && remove_ckpt_dir(old) != 0) {
            wsss_error_set("%s: stale previous checkpoint directory cannot be removed: %s", old, strerror(errno));
            goto done;
        }
        if (rename(dir, old) != 0) {
            wsss_error_set("%s: cannot rename to %s: %s", dir, old, strerror(errno));
            goto done;
        }
        had_old = 1;
    }
    if (rename(tmp, dir) != 0) {
        wsss_error_set("%s: cannot rename to %s: %s", tmp, dir, strerror(errno));
        if (had_old) rename(old, dir); /* put the previous checkpoint back */
        goto done;
    }
    tmp_made = 0;
    char *parent = wsss_xstrdup(dir);
    wsss_fsync_dir(dirname(parent));
    free(parent);
    if (had_old && remove_ckpt_dir(old) != 0)
        fprintf(stderr, "wsss: warning: previous checkpoint kept at %s (contains other files: %s)\n", old,
                strerror(errno));
    rc = WSSS_OK;
done:
    if (tmp_made) remove_ckpt_dir(tmp);
    free(dir);
    free(json);
    free(tmp);
    free(old);
    free(model_path);
    free(optim_path);
    free(state_path);
    return rc;
}

int wsss_ckpt_load(const char *dir_arg, wsss_params *model, wsss_optim *opt, wsss_ckpt_state *state) {
    WSSS_ASSERT(dir_arg && model && state, "wsss_ckpt_load: dir, model and state are required");
    char *dir = normalize_dir(dir_arg);
    wsss_ckpt_state s;
    wsss_ckpt_state_init(&s);
    int has_opt = 0, rc = WSSS_ERR;
    char *model_path = wsss_path_join(dir, MODEL_FILE), *optim_path = wsss_path_join(dir, OPTIM_FILE);
    wsss_safetensors *model_file = NULL, *optim_file = NULL;

    if (load_state_json(dir, &s, &has_opt) != WSSS_OK) goto done;
    if (opt && !has_opt) {
        wsss_error_set("%s/%s: field 'has_optimizer' is false: the checkpoint holds no optimizer state to resume from",
                       dir, STATE_JSON);
        goto done;
    }
    /* Open (and so validate) every file before changing anything. */
    if (wsss_st_open(model_path, &model_file) != WSSS_OK) goto done;
    if (opt && wsss_st_open(optim_path, &optim_file) != WSSS_OK) goto done;
    /* Model first: a structural mismatch is best reported against the model file, which lists
     * every missing/unexpected/mis-shaped tensor. */
    wsss_params_load_opts lo = {0};
    lo.strict = 1;
    if (wsss_params_load_st(model, model_file, &lo, NULL) != WSSS_OK) goto done;
    if (opt && wsss_optim_state_load(opt, optim_file) != WSSS_OK) goto done;
    state_move(state, &s);
    rc = WSSS_OK;
done:
    wsss_ckpt_state_clear(&s);
    wsss_st_close(model_file);
    wsss_st_close(optim_file);
    free(dir);
    free(model_path);
    free(optim_path);
    return rc;
}
