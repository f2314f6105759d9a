/* Checkpoint directories: atomic save (temporary directory + renames) and fully validated load. */
#include "wsss/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/error.h"
#include "wsss/fs.h"

#define STATE_JSON "state.json"
#define MODEL_FILE "model.safetensors"
#define OPTIM_FILE "optim.safetensors"

#define PART_PREFIX "part-"        /* part-NAME.safetensors, part-NAME.optim.safetensors */
#define PART_SUFFIX ".safetensors"

/* Files a checkpoint directory may contain: the only ones we ever delete (and part-*.safetensors). */
static const char *const ckpt_files[] = {MODEL_FILE, OPTIM_FILE, STATE_JSON};

/* A further part's file: part-NAME.safetensors (or its temporary of our writer, with tmp). */
static int is_part_file(const char *name, int tmp) {
    if (strncmp(name, PART_PREFIX, strlen(PART_PREFIX)) != 0) return 0;
    const char *ext = strstr(name, PART_SUFFIX);
    if (!ext || ext == name + strlen(PART_PREFIX)) return 0;
    return tmp ? strncmp(ext + strlen(PART_SUFFIX), ".tmp", 4) == 0 : ext[strlen(PART_SUFFIX)] == 0;
}

/* The files of part i of n in dir: model/optim.safetensors for the first, part-NAME(.optim).safetensors after. */
static char *part_path(const char *dir, int i, const char *name, int optim) {
    if (i == 0) return wsss_path_join(dir, optim ? OPTIM_FILE : MODEL_FILE);
    char file[WSSS_CKPT_PART_NAME + 40];
    snprintf(file, sizeof file, PART_PREFIX "%s%s" PART_SUFFIX, name, optim ? ".optim" : "");
    return wsss_path_join(dir, file);
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

/* Remove a checkpoint-shaped directory: its known files (part-*.safetensors too), leftover temporary
 * files of our safetensors writer, then the directory. Anything else in it (user files) makes rmdir fail: returns -1 then. */
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
            int ours = is_part_file(e->d_name, 0) || is_part_file(e->d_name, 1);
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

/* n networks (n = 1: state->n_parts 0, else state->n_parts) */
static int save_parts(const char *dir_arg, int n, const wsss_params *const *params, const wsss_optim *const *opts,
                      const wsss_ckpt_state *state) {
    WSSS_ASSERT(dir_arg && params && state, "wsss_ckpt_save: dir, model and state are required");
    WSSS_ASSERT(n >= 1 && n <= WSSS_CKPT_MAX_PARTS && (n == 1 ? state->n_parts == 0 : state->n_parts == n),
                "checkpoint parts");
    for (int i = 0; i < n; i++) WSSS_ASSERT(params[i], "checkpoint part without parameters");
    for (int i = 1; i < n; i++) WSSS_ASSERT(wsss_ckpt_part_name_ok(state->parts[i].name), "checkpoint part name");
    const int with_opt = opts && opts[0];
    for (int i = 0; i < n && opts; i++) WSSS_ASSERT(!opts[i] == !with_opt, "every part with an optimizer, or none");
    char *dir = normalize_dir(dir_arg);
    WSSS_ASSERT(state->n_data_pos >= 0 && state->n_data_pos <= WSSS_CKPT_MAX_DATA_POS, "too many data positions");
    const long pid = (long)getpid();
    int rc = WSSS_ERR;
    char *tmp = path_suffix(dir, ".tmp-", pid), *old = path_suffix(dir, ".old-", pid);
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
    for (int i = 0; i < n; i++) {
        char *mp = part_path(tmp, i, state->parts[i].name, 0), *op = part_path(tmp, i, state->parts[i].name, 1);
        int ok = wsss_params_save_safetensors(params[i], mp, 1) == WSSS_OK &&
                 (!with_opt || wsss_optim_state_save(opts[i], op) == WSSS_OK);
        free(mp);
        free(op);
        if (!ok) goto done;
    }
    json = wsss_ckpt_state_to_json(state, with_opt);
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
    free(state_path);
    return rc;
}

int wsss_ckpt_save(const char *dir, const wsss_params *model, const wsss_optim *opt, const wsss_ckpt_state *state) {
    return save_parts(dir, 1, &model, &opt, state);
}

int wsss_ckpt_save_parts(const char *dir, const wsss_params *const *params, const wsss_optim *const *opts,
                         const wsss_ckpt_state *state) {
    WSSS_ASSERT(state->n_parts >= 2, "wsss_ckpt_save_parts: two or more parts");
    return save_parts(dir, state->n_parts, params, opts, state);
}

/* "localizer, adversary" (or "one network") */
static void part_list(char *buf, size_t cap, int n, const char *const *names) {
    buf[0] = 0;
    if (n <= 1) snprintf(buf, cap, "one network");
    for (int i = 0; i < n && n > 1; i++) {
        size_t k = strlen(buf);
        snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", names[i]);
    }
}

int wsss_ckpt_load_parts(const char *dir_arg, int n, const char *const *names, wsss_params *const *params,
                         wsss_optim *const *opts, wsss_ckpt_state *state) {
    WSSS_ASSERT(dir_arg && params && state && n >= 1 && n <= WSSS_CKPT_MAX_PARTS, "wsss_ckpt_load: arguments");
    char *dir = normalize_dir(dir_arg);
    wsss_ckpt_state s;
    wsss_ckpt_state_init(&s);
    const int with_opt = opts && opts[0];
    int has_opt = 0, rc = WSSS_ERR;
    wsss_safetensors *files[2 * WSSS_CKPT_MAX_PARTS] = {NULL};

    if (load_state_json(dir, &s, &has_opt) != WSSS_OK) goto done;
    if (with_opt && !has_opt) {
        wsss_error_set("%s/%s: field 'has_optimizer' is false: the checkpoint holds no optimizer state to resume from",
                       dir, STATE_JSON);
        goto done;
    }
    int same = (n == 1 && s.n_parts == 0) || s.n_parts == n;
    for (int i = 0; i < s.n_parts && same; i++) same = strcmp(s.parts[i].name, names[i]) == 0;
    if (!same) {
        const char *stored[WSSS_CKPT_MAX_PARTS];
        for (int i = 0; i < s.n_parts; i++) stored[i] = s.parts[i].name;
        char have[200], want[200];
        part_list(have, sizeof have, s.n_parts, stored);
        part_list(want, sizeof want, n, names);
        wsss_error_set("%s/%s: the checkpoint holds %s, this run trains %s", dir, STATE_JSON, have, want);
        goto done;
    }
    /* Open (and so validate) every file before changing anything. */
    for (int i = 0; i < n; i++) {
        char *mp = part_path(dir, i, names[i], 0), *op = part_path(dir, i, names[i], 1);
        int ok = wsss_st_open(mp, &files[2 * i]) == WSSS_OK && (!with_opt || wsss_st_open(op, &files[2 * i + 1]) == WSSS_OK);
        free(mp);
        free(op);
        if (!ok) goto done;
    }
    /* Models first: a structural mismatch is best reported against the model file, which lists
     * every missing/unexpected/mis-shaped tensor. */
    wsss_params_load_opts lo = {0};
    lo.strict = 1;
    for (int i = 0; i < n; i++)
        if (wsss_params_load_st(params[i], files[2 * i], &lo, NULL) != WSSS_OK) goto done;
    for (int i = 0; i < n && with_opt; i++)
        if (wsss_optim_state_load(opts[i], files[2 * i + 1]) != WSSS_OK) goto done;
    wsss_ckpt_state_clear(state); /* hand s over, its config string with it */
    *state = s;
    s.config = NULL;
    rc = WSSS_OK;
done:
    wsss_ckpt_state_clear(&s);
    for (int i = 0; i < 2 * n; i++) wsss_st_close(files[i]);
    free(dir);
    return rc;
}

int wsss_ckpt_load(const char *dir, wsss_params *model, wsss_optim *opt, wsss_ckpt_state *state) {
    WSSS_ASSERT(dir && model && state, "wsss_ckpt_load: dir, model and state are required");
    static const char *const one[1] = {"model"};
    return wsss_ckpt_load_parts(dir, 1, one, &model, &opt, state);
}
